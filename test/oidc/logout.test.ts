import { describe, it, expect } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { call, type TestGateway } from '../helpers/gateway.js';
import { browse, CookieJar, resolve, type TestProvider } from '../helpers/oidc-provider.js';
import { startLogin, useOidcGateway } from '../helpers/oidc-setup.js';
import { within } from '../helpers/wait.js';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';


describe('logout: RP-initiated at the provider, and back-channel logout from it', () => {
  let idp: TestProvider;
  let gw: TestGateway;
  useOidcGateway((started) => ({ idp, gw } = started));

  const signedIn = async (login = 'ada') => {
    const jar = new CookieJar();
    const { callbackUrl } = await startLogin(gw, jar, login);
    expect((await browse(jar, callbackUrl)).status).toBe(303);
    return jar;
  };
  const me = (jar: CookieJar) => call(`${gw.url}/claimgate/me`, { headers: { cookie: jar.header(gw.url)! } });
  const sidOf = async (jar: CookieJar) => {
    const { SessionCookie } = await import('../../src/core/sessions/cookie.js');
    const raw = jar.get(gw.url, 'claimgate_session')!;
    const row = await gw.db.knex('sessions').where({ id_hash: SessionCookie.hashId(raw.split('.')[0]!) }).first();
    const data = typeof row.data === 'string' ? JSON.parse(row.data) : row.data;
    return data.sid as string;
  };

  it('POST /claimgate/logout ends the session here and sends the browser to the provider with id_token_hint', async () => {
    const jar = await signedIn();
    expect((await me(jar)).status).toBe(200);
    const out = await browse(jar, `${gw.url}/claimgate/logout`, { form: {} });
    expect(out.status).toBe(303);
    const target = new URL(String(out.headers.location));
    expect(`${target.origin}${target.pathname}`).toBe(`${idp.issuer}/session/end`);
    expect(target.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(target.searchParams.get('post_logout_redirect_uri')).toBe('http://gateway.test/claimgate/signed-out');
    expect((await me(jar)).status).toBe(401);
    // The provider accepts it: its confirm page, then back to our signed-out page.
    const confirm = await browse(jar, target.href);
    expect(confirm.status).toBe(200);
    const action = /<form[^>]*action="([^"]+)"/.exec(confirm.text)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.text)![1]!;
    const done = await browse(jar, new URL(action, target).href, { form: { xsrf, logout: 'yes' } });
    expect(done.status).toBe(303);
    expect(resolve(idp.issuer, done.headers.location)).toBe('http://gateway.test/claimgate/signed-out');
    const page = await call(`${gw.url}/claimgate/signed-out`);
    expect(page.text).toContain('signed out');
  });

  it('a logout at the provider reaches the gateway by back-channel and ends that session (sid)', async () => {
    const jar = await signedIn('bob');
    const other = await signedIn('bob'); // another browser of the same user, another provider session
    expect((await me(jar)).status).toBe(200);
    const end = await browse(jar, `${idp.issuer}/session/end`);
    const action = /<form[^>]*action="([^"]+)"/.exec(end.text)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(end.text)![1]!;
    await browse(jar, new URL(action, idp.issuer).href, { form: { xsrf, logout: 'yes' } });
    await within(2000, async () => (await me(jar)).status === 401);
    expect((await me(other)).status).toBe(200); // only the provider session that logged out
    expect(gw.logs.join('\n')).toContain('back-channel logout');
  });

  describe('logout tokens that are refused (400 logout_token_invalid) and end nothing', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const base = (sid: string): JWTPayload => ({
      iss: idp.issuer,
      aud: 'claimgate',
      iat: now(),
      exp: now() + 120,
      jti: randomUUID(),
      events: { [EVENT]: {} },
      sid,
    });
    const typ = { typ: 'logout+jwt' };
    const rows: [string, (sid: string) => Promise<string>][] = [
      ['typ is not logout+jwt (an ID token replayed here)', (sid) => idp.sign(base(sid), { typ: 'JWT' })],
      ['no events claim', (sid) => idp.sign({ ...base(sid), events: undefined }, typ)],
      ['events without the back-channel logout member', (sid) => idp.sign({ ...base(sid), events: { other: {} } }, typ)],
      ['the event member is not an object', (sid) => idp.sign({ ...base(sid), events: { [EVENT]: 'yes' } }, typ)],
      ['a nonce is present', (sid) => idp.sign({ ...base(sid), nonce: 'n' }, typ)],
      ['neither sid nor sub', (sid) => idp.sign({ ...base(sid), sid: undefined }, typ)],
      ['another audience', (sid) => idp.sign({ ...base(sid), aud: 'other-client' }, typ)],
      ['an unknown issuer', (sid) => idp.sign({ ...base(sid), iss: 'https://evil.example' }, typ)],
      ['issued 10 minutes ago', (sid) => idp.sign({ ...base(sid), iat: now() - 600 }, typ)],
      ['expired', (sid) => idp.sign({ ...base(sid), exp: now() - 100 }, typ)],
      ['no jti', (sid) => idp.sign({ ...base(sid), jti: undefined }, typ)],
      [
        'signed with a key the provider does not publish',
        async (sid) => new SignJWT(base(sid)).setProtectedHeader({ alg: 'RS256', kid: 'idp-1', ...typ }).sign((await generateKeyPair('RS256')).privateKey),
      ],
      ['HS256 with a guessable secret', (sid) => new SignJWT(base(sid)).setProtectedHeader({ alg: 'HS256', ...typ }).sign(new TextEncoder().encode('x'.repeat(32)))],
      ['not a JWT', async () => 'garbage'],
    ];
    it.each(rows)('%s', async (_name, make) => {
      const jar = await signedIn('ada');
      const token = await make(await sidOf(jar));
      const res = await call(`${gw.url}/claimgate/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
      });
      expect(res.status).toBe(400);
      expect(res.json().code).toBe('logout_token_invalid');
      expect((await me(jar)).status).toBe(200);
      expect(gw.logs.join('\n')).not.toContain(token.split('.')[2] ?? token);
    });

    it('a replayed logout token is refused the second time', async () => {
      const jar = await signedIn('ada');
      const token = await idp.sign(base(await sidOf(jar)), typ);
      const post = () =>
        call(`${gw.url}/claimgate/backchannel-logout`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ logout_token: token }).toString(),
        });
      expect((await post()).status).toBe(200);
      expect((await me(jar)).status).toBe(401);
      const again = await post();
      expect(again.status).toBe(400);
    });

    it('a valid token with only sub ends every session of that user', async () => {
      const a = await signedIn('ada');
      const b = await signedIn('ada');
      const bob = await signedIn('bob');
      const token = await idp.sign({ ...base('x'), sid: undefined, sub: 'ada' }, typ);
      const res = await call(`${gw.url}/claimgate/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
      });
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect((await me(a)).status).toBe(401);
      expect((await me(b)).status).toBe(401);
      expect((await me(bob)).status).toBe(200);
    });
  });
});
