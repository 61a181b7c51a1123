import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { starterMapping } from '../helpers/presets.js';
import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeKeyPair, signToken, type KeyPair } from '../helpers/tokens.js';

const KC_ISS = 'https://sso.example.com/realms/corp';
const OKTA_ISS = 'https://example.okta.com/oauth2/default';
const AUTH0_ISS = 'https://example.eu.auth0.com/';
const GOOGLE_ISS = 'https://accounts.google.com';
const GOOGLE_CID = '1234567890-abc.apps.googleusercontent.com';

describe('provider-shaped tokens sign in through /sso and bearer with the starter mappings', () => {
  let gw: TestGateway;
  let key: KeyPair;

  beforeAll(async () => {
    key = await makeKeyPair('RS256', 'provider-kid');
    const issuer = (id: string, preset: string, iss: string, audiences: string[], extra: Record<string, unknown> = {}) => ({
      id, preset, issuer: iss, audiences, keys: [key.publicJwk], ssoLink: { enabled: true }, mapping: id, ...extra,
    });
    gw = await startTestGateway({
      issuers: [
        issuer('keycloak', 'keycloak', KC_ISS, ['bi-portal']),
        issuer('okta', 'okta', OKTA_ISS, ['api://default']),
        issuer('auth0', 'auth0', AUTH0_ISS, ['https://bi.example.com/api']),
        issuer('google', 'google', GOOGLE_ISS, [GOOGLE_CID], { google: { hostedDomains: ['example.com'] } }),
      ],
      mappings: {
        keycloak: await starterMapping('keycloak', { CLIENT_ID: 'bi-portal', KEYCLOAK_HOST: 'sso.example.com', REALM: 'corp' }),
        okta: await starterMapping('okta', { OKTA_DOMAIN: 'example.okta.com', AUDIENCE: 'api://default' }),
        auth0: await starterMapping('auth0', { AUTH0_DOMAIN: 'example.eu.auth0.com', API_IDENTIFIER: 'https://bi.example.com/api', NAMESPACE: 'bi.example.com' }),
        google: await starterMapping('google', { CLIENT_ID: GOOGLE_CID, DOMAIN: 'example.com', ADMIN_EMAIL: 'admin@example.com' }),
      },
    });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>) => signToken(claims, { key, typ: 'JWT', now: now() });
  const bearerRoles = async (token: string) => {
    const res = await call(`${gw.url}/dash`, { headers: { authorization: `Bearer ${token}` } });
    return res.status === 200 ? String(res.json().headers['x-claimgate-roles']) : `HTTP ${res.status} ${res.text}`;
  };
  const rolesOf = async (usercode: string) => ((await gw.running.gateway.parts.users.getByUsercode(usercode))?.roles ?? []).map((r) => r.name).sort();

  it('keycloak: an access token with aud "account" and the client in azp; realm and client roles', async () => {
    const claims = {
      iss: KC_ISS, aud: 'account', azp: 'bi-portal', typ: 'Bearer', sub: 'f:1c8b:ada', sid: randomUUID(),
      realm_access: { roles: ['offline_access', 'bi-analyst'] },
      resource_access: { 'bi-portal': { roles: ['admin'] }, account: { roles: ['manage-account'] } },
      scope: 'openid profile email', email_verified: true, preferred_username: 'kc-ada', email: 'ada@example.com', name: 'Ada',
    };
    expect(await bearerRoles(await sign({ ...claims, jti: `onrtac:${randomUUID()}` }))).toBe('admin,analyst');
    const sso = await call(`${gw.url}/claimgate/sso?jwt=${await sign({ ...claims, jti: randomUUID(), preferred_username: 'kc-bob', sub: 'f:1c8b:bob' })}`);
    expect(sso.status).toBe(303);
    expect(await rolesOf('kc-bob')).toEqual(['admin', 'analyst']);
  });

  it('okta: groups absent means no groups (default role), present groups map', async () => {
    const base = { ver: 1, iss: OKTA_ISS, aud: 'api://default', cid: '0oa1b2c3d4e5f6g7h8i9', uid: '00u1a2b3c4d5e6f7g8h9', scp: ['openid'], sub: 'okta-ada@example.com' };
    expect(await bearerRoles(await sign({ ...base, jti: `AT.${randomUUID()}` }))).toBe('viewer');
    const sso = await call(`${gw.url}/claimgate/sso?jwt=${await sign({ ...base, jti: `ID.${randomUUID()}`, sub: 'okta-bob@example.com', groups: ['bi-admins', 'Everyone'] })}`);
    expect(sso.status).toBe(303);
    expect(await rolesOf('okta-bob@example.com')).toEqual(['admin']);
  });

  it('auth0: namespaced roles, permissions, an aud array', async () => {
    const token = await sign({
      iss: AUTH0_ISS, sub: 'auth0|64f0c0ffee1234567890abcd', aud: ['https://bi.example.com/api', 'https://example.eu.auth0.com/userinfo'],
      azp: 'xJ2kq9Lz0pQ7', scope: 'openid profile email', permissions: ['read:reports', 'write:reports'],
      'https://bi.example.com/roles': ['bi-admin'], 'https://bi.example.com/email': 'ada@example.com',
    });
    expect(await bearerRoles(token)).toBe('admin');
    const user = await gw.running.gateway.parts.users.getByUsercode('auth0|64f0c0ffee1234567890abcd');
    expect(user?.permissions.map((p) => p.name)).toEqual(['read_reports']);
    expect(user?.email).toBe('ada@example.com');
  });

  it('google: a Workspace account signs in; a personal or foreign one is refused', async () => {
    const base = { iss: GOOGLE_ISS, azp: GOOGLE_CID, aud: GOOGLE_CID, email_verified: true, name: 'Ada', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q' };
    expect(await bearerRoles(await sign({ ...base, sub: '110169484474386276334', hd: 'example.com', email: 'admin@example.com' }))).toBe('admin');
    expect(await bearerRoles(await sign({ ...base, sub: '110169484474386276335', email: 'someone@gmail.com' }))).toMatch(/HTTP 401 .*hosted_domain_not_allowed/);
    expect(await bearerRoles(await sign({ ...base, sub: '110169484474386276336', hd: 'evil.example', email: 'x@evil.example' }))).toMatch(/HTTP 401/);
  });
});
