/**
 * The ID token of a redirect sign-in goes back to the browser at logout (`id_token_hint` in the provider's
 * end-session URL). It must not work as a bearer token (or a sign-in link) at the gateway, before or after that
 * logout: ID tokens are for the gateway's own client, not access tokens.
 */
import { describe, it, expect } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { call, type TestGateway } from '../helpers/gateway.js';
import { browse, CookieJar, type TestProvider } from '../helpers/oidc-provider.js';
import { startLogin, useOidcGateway } from '../helpers/oidc-setup.js';

describe('ID tokens of the redirect sign-in are not bearer tokens', () => {
  let idp: TestProvider;
  let gw: TestGateway;
  useOidcGateway((started) => ({ idp, gw } = started));

  const asBearer = async (token: string) => {
    const r = await call(`${gw.url}/dash`, { headers: { authorization: `Bearer ${token}` } });
    return r.status === 200 ? 200 : `${r.status} ${r.json().code}`;
  };
  const now = () => Math.floor(Date.now() / 1000);

  it('the id_token_hint of a logout is refused as a bearer token: 401 id_token_not_accepted', async () => {
    const jar = new CookieJar();
    const { callbackUrl } = await startLogin(gw, jar, 'ada');
    expect((await browse(jar, callbackUrl)).status).toBe(303);
    const out = await browse(jar, `${gw.url}/claimgate/logout`, { form: {} });
    expect(out.status).toBe(303);
    const idToken = new URL(String(out.headers.location)).searchParams.get('id_token_hint')!;
    expect(idToken).toMatch(/^eyJ/);
    expect(await asBearer(idToken)).toBe('401 id_token_not_accepted');
    const link = await call(`${gw.url}/claimgate/sso?jwt=${idToken}`);
    expect([link.status, link.json().code]).toEqual([401, 'id_token_not_accepted']);
    expect(gw.logs.join('\n')).not.toContain(idToken.split('.')[2]!);
  });

  it('a token for the client id with a nonce is refused; one without (an access token for this audience) passes', async () => {
    const base = { iss: idp.issuer, aud: 'claimgate', sub: 'ada', preferred_username: 'ada', email: 'ada@example.test', iat: now(), exp: now() + 300 };
    expect(await asBearer(await idp.sign({ ...base, nonce: 'n-1' }))).toBe('401 id_token_not_accepted');
    expect(await asBearer(await idp.sign({ ...base, aud: ['other', 'claimgate'], nonce: 'n-2' }))).toBe('401 id_token_not_accepted');
    expect(await asBearer(await idp.sign({ ...base, jti: randomUUID() }))).toBe(200);
  });

  it('an ID token the gateway received is refused even without a nonce (a refreshed ID token may have none)', async () => {
    const ctx = gw.running.gateway.parts;
    const claims = { iss: idp.issuer, aud: 'claimgate', sub: 'ada', preferred_username: 'ada', email: 'ada@example.test', iat: now(), exp: now() + 300, jti: randomUUID() };
    const token = await idp.sign(claims);
    const verified = await ctx.trustMap.verify(token, { purpose: 'oidc' });
    await ctx.login.recordIdToken(verified.issuer, { claims: verified.claims as never, tokenHash: verified.tokenHash });
    expect(await asBearer(token)).toBe('401 id_token_not_accepted');
  });
});
