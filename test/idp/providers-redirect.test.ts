import { describe, it, expect, afterEach } from '@jest/globals';
import { starterMapping } from '../helpers/presets.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { browse, CookieJar, resignIdToken, startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { ACCOUNTS, oidcIssuer, startLogin, webClient } from '../helpers/oidc-setup.js';
import type { JWTPayload } from 'jose';

/**
 * The redirect login with each preset: a real OpenID provider whose ID tokens are reshaped as the provider
 * documents its ID tokens (the issuer, audience, nonce and signature stay the test provider's own), mapped with
 * the starter mapping of `claimgate init --preset`.
 */
describe('provider-shaped ID tokens sign in through the redirect login with the starter mappings', () => {
  let idp: TestProvider | undefined;
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    await idp?.close();
    gw = undefined;
    idp = undefined;
  });

  async function signIn(
    preset: string,
    fill: Record<string, string>,
    reshape: (c: JWTPayload) => JWTPayload,
    extra: Record<string, unknown> = {},
  ): Promise<{ status: number; text: string; roles: string[]; usercode: string }> {
    const mapping = await starterMapping(preset, { CLIENT_ID: 'claimgate', ...fill });
    let started: TestGateway | undefined;
    const provider = await startTestProvider(async (issuer) => {
      started = await startTestGateway({ mappings: { corp: mapping }, issuers: [oidcIssuer(issuer, {}, { preset, ...extra })] });
      return { clients: [webClient(started.url)], accounts: ACCOUNTS };
    });
    idp = provider;
    gw = started!;
    provider.tamperToken = async (body) => ({ ...body, id_token: await resignIdToken(provider, String(body.id_token), reshape) });
    const jar = new CookieJar();
    const { callbackUrl } = await startLogin(gw, jar, 'ada');
    const cb = await browse(jar, callbackUrl);
    const users = await gw.db.knex('users').select('usercode');
    const usercode = users.length === 1 ? String(users[0]!.usercode) : '';
    const user = usercode ? await gw.running.gateway.parts.users.getByUsercode(usercode) : null;
    return { status: cb.status, text: cb.text, roles: (user?.roles ?? []).map((r) => r.name).sort(), usercode };
  }
  /** Everything the test provider put in, minus the claims a provider of that kind would not send. */
  const without = (c: JWTPayload, ...names: string[]) => Object.fromEntries(Object.entries(c).filter(([k]) => !names.includes(k)));

  it('keycloak: realm and client roles (the client id as the key under resource_access)', async () => {
    const r = await signIn('keycloak', {}, (c) => ({
      ...without(c, 'groups'),
      typ: 'ID',
      azp: 'claimgate',
      sid: 'b3c1f0de-5b4e-4a52-9b41-2f4b7f7c9d10',
      preferred_username: 'kc-ada',
      realm_access: { roles: ['default-roles-corp', 'offline_access', 'bi-analyst'] },
      resource_access: { claimgate: { roles: ['admin'] }, account: { roles: ['manage-account'] } },
    }));
    expect(r.status).toBe(303);
    expect(r).toMatchObject({ usercode: 'kc-ada', roles: ['admin', 'analyst'] });
  });

  it('okta: a groups claim left out (its filter matched nothing) signs in with the default role', async () => {
    const r = await signIn('okta', { OKTA_DOMAIN: 'example.okta.com', AUDIENCE: 'claimgate' }, (c) => ({
      ...without(c, 'groups'),
      ver: 1,
      idp: '00o1a2b3c4d5e6f7g8h9',
      amr: ['pwd'],
      auth_time: c.iat,
      preferred_username: 'okta-ada@example.com',
    }));
    expect(r.status).toBe(303);
    expect(r).toMatchObject({ usercode: 'okta-ada@example.com', roles: ['viewer'] });
  });

  it('okta: present groups are mapped', async () => {
    const r = await signIn('okta', { OKTA_DOMAIN: 'example.okta.com', AUDIENCE: 'claimgate' }, (c) => ({
      ...c,
      ver: 1,
      preferred_username: 'okta-bob@example.com',
      groups: ['Everyone', 'bi-analysts'],
    }));
    expect(r).toMatchObject({ status: 303, usercode: 'okta-bob@example.com', roles: ['analyst'] });
  });

  it('auth0: namespaced claims an Action put into the ID token', async () => {
    const r = await signIn('auth0', { AUTH0_DOMAIN: 'example.eu.auth0.com', API_IDENTIFIER: 'claimgate', NAMESPACE: 'bi.example.com' }, (c) => ({
      ...without(c, 'groups', 'email'),
      sub: 'auth0|64f0c0ffee1234567890abcd',
      nickname: 'ada',
      sid: 'Gq0mQ6yBQ2m7vYjR4o1aXh3',
      'https://bi.example.com/roles': ['bi-admin'],
      'https://bi.example.com/email': 'ada@example.com',
    }));
    expect(r).toMatchObject({ status: 303, usercode: 'auth0|64f0c0ffee1234567890abcd', roles: ['admin'] });
  });

  it('google: a Workspace account signs in; a personal account is refused by the hosted-domain check', async () => {
    const shape = (extra: Record<string, unknown>) => (c: JWTPayload) => ({
      ...without(c, 'groups', 'preferred_username'),
      azp: 'claimgate',
      sub: '110169484474386276334',
      email_verified: true,
      at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q',
      ...extra,
    });
    const fill = { DOMAIN: 'example.com', ADMIN_EMAIL: 'admin@example.com' };
    const hd = { google: { hostedDomains: ['example.com'] } };
    const ok = await signIn('google', fill, shape({ email: 'admin@example.com', hd: 'example.com' }), hd);
    expect(ok).toMatchObject({ status: 303, usercode: 'admin@example.com', roles: ['admin'] });
    await gw!.close();
    await idp!.close();
    [gw, idp] = [undefined, undefined];
    const refused = await signIn('google', fill, shape({ email: 'ada@gmail.com' }), hd);
    expect(refused.status).toBe(401);
    expect(refused.text).toContain('hosted_domain_not_allowed');
    expect(refused.usercode).toBe('');
  });
});
