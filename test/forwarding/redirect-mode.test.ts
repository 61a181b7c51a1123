import { describe, it, expect, afterEach } from '@jest/globals';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { RedirectMinter } from '../../src/features/redirect/redirect-mode.js';

const SHARED = 'redirect-shared-secret-0123456789-abcdefgh';
const cleanups: TestGateway[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!.close();
});

const redirectUpstream = (redirect: Record<string, unknown>) => ({
  upstream: {
    url: 'http://app.test',
    mode: 'redirect',
    redirect: {
      url: 'https://app.test/sso?tenant=7',
      claims: { usercode: 'usercode', roles: 'roles', categories: 'attributes.region', mail: 'email', group_count: 'length(claims.groups)' },
      ...redirect,
    },
  },
});

describe('redirect mode: after sign-in, a hand-off JWT to the app\'s own SSO URL', () => {
  it('HS256: 303 to the app with exactly the templated claims, its own typ, 60 s lifetime, no referrer', async () => {
    const gw = await startTestGateway(redirectUpstream({ alg: 'HS256', sharedSecret: SHARED }));
    cleanups.push(gw);
    const res = await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ regions: ['EU', 'US'], groups: ['bi-admins', 'x'] })}&return_to=/ignored`);
    expect(res.status).toBe(303);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const target = new URL(String(res.headers.location));
    expect(`${target.origin}${target.pathname}`).toBe('https://app.test/sso');
    expect(target.searchParams.get('tenant')).toBe('7');
    const token = target.searchParams.get('jwt')!;
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(SHARED), {
      algorithms: ['HS256'],
      issuer: 'http://gateway.test',
      audience: 'http://app.test',
      typ: 'claimgate-redirect+jwt',
    });
    expect(protectedHeader.typ).toBe('claimgate-redirect+jwt');
    expect(payload.exp! - payload.iat!).toBe(60);
    const { iat: _i, exp: _e, jti, sub, ...rest } = payload;
    expect(typeof jti).toBe('string');
    expect(sub).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(rest).toEqual({
      iss: 'http://gateway.test',
      aud: 'http://app.test',
      usercode: 'ada',
      roles: ['admin'],
      categories: ['EU', 'US'],
      mail: 'ada@example.test',
      group_count: 2,
    });
    // A session exists too (for /me and logout).
    const cookie = String(res.headers['set-cookie']).split(';')[0]!;
    expect((await call(`${gw.url}/claimgate/me`, { headers: { cookie } })).status).toBe(200);
    // The hand-off token is not a credential at the gateway.
    expect((await call(`${gw.url}/claimgate/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect(gw.logs.join('\n')).not.toContain(token.split('.')[2]!);
  });

  it('ES256 with a configured key: kid in the header, public key at /claimgate/redirect/jwks.json', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'handoff-1' };
    const gw = await startTestGateway(redirectUpstream({ alg: 'ES256', privateKey: jwk }));
    cleanups.push(gw);
    const res = await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`);
    const token = new URL(String(res.headers.location)).searchParams.get('jwt')!;
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'claimgate-redirect+jwt', kid: 'handoff-1' });
    const jwks = (await call(`${gw.url}/claimgate/redirect/jwks.json`)).json();
    expect(jwks.keys[0]).not.toHaveProperty('d');
    await jwtVerify(token, createLocalJWKSet(jwks), { typ: 'claimgate-redirect+jwt', audience: 'http://app.test' });
    // Never the same key or type as the proxy assertion.
    const assertionKeys = (await call(`${gw.url}/claimgate/jwks.json`)).json();
    await expect(jwtVerify(token, createLocalJWKSet(assertionKeys))).rejects.toThrow();
  });

  it('a template cannot write the claims the gateway sets; a claim whose expression yields nothing is left out', () => {
    expect(() => new RedirectMinter({ url: 'https://a', claims: { exp: 'usercode' }, alg: 'HS256', sharedSecret: SHARED, param: 'jwt', ttlSeconds: 60 }, { issuer: 'i', audience: 'a' })).toThrow(
      /upstream\.redirect\.claims\.exp/,
    );
    expect(() => new RedirectMinter({ url: 'https://a', claims: { x: 'a[' }, alg: 'HS256', sharedSecret: SHARED, param: 'jwt', ttlSeconds: 60 }, { issuer: 'i', audience: 'a' })).toThrow(
      /JMESPath/,
    );
    const m = new RedirectMinter({ url: 'https://a', claims: { none: 'claims.missing', who: 'usercode' }, alg: 'HS256', sharedSecret: SHARED, param: 'jwt', ttlSeconds: 60 }, { issuer: 'i', audience: 'a' });
    const input = { userId: 'u', usercode: 'ada', claims: {} } as never;
    expect(m.templateClaims(input)).toEqual({ who: 'ada' });
  });

  it('a form post to /claimgate/sso hands off the same way (every sign-in ends in SignIn.start)', async () => {
    const gw = await startTestGateway(redirectUpstream({ alg: 'HS256', sharedSecret: SHARED }));
    cleanups.push(gw);
    const res = await call(`${gw.url}/claimgate/sso`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ jwt: await gw.token({ groups: [] }) }).toString(),
    });
    expect(res.status).toBe(303);
    expect(decodeJwt(new URL(String(res.headers.location)).searchParams.get('jwt')!).roles).toEqual(['viewer']);
  });
});
