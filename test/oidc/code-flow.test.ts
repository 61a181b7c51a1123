import { describe, it, expect } from '@jest/globals';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { browse, CookieJar, resignIdToken, startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { ACCOUNTS, CLIENT_SECRET, oidcIssuer, startLogin, useOidcGateway, webClient } from '../helpers/oidc-setup.js';

const count = async (gw: TestGateway, table: string) => Number((await gw.db.knex(table).count({ n: '*' }))[0]!.n);

describe('OIDC authorization code flow against a real oidc-provider', () => {
  let idp: TestProvider;
  let gw: TestGateway;
  useOidcGateway((started) => ({ idp, gw } = started));

  it('signs in: PKCE S256, state, nonce, a browser-bound transaction cookie, then 303 to return_to with a new session', async () => {
    const jar = new CookieJar();
    const { start, authUrl, callbackUrl } = await startLogin(gw, jar, 'ada');
    const auth = new URL(authUrl);
    expect(auth.origin).toBe(idp.issuer);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(auth.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(auth.searchParams.get('redirect_uri')).toBe('http://gateway.test/claimgate/callback');
    expect(auth.searchParams.get('scope')).toBe('openid profile email groups');
    const txCookie = String(start.headers['set-cookie']);
    expect(txCookie).toMatch(/^claimgate_session_tx_[0-2]=/);
    expect(txCookie).toMatch(/HttpOnly/i);
    expect(txCookie).toMatch(/SameSite=Lax/i);
    expect(txCookie).toMatch(/Path=\/claimgate\/callback/);
    expect(txCookie).toMatch(/Max-Age=600/);
    // The verifier never leaves the gateway except inside its own signed cookie.
    expect(authUrl).not.toContain('code_verifier');

    const cbUrl = new URL(callbackUrl);
    expect(cbUrl.searchParams.get('iss')).toBe(idp.issuer); // RFC 9207
    const done = await browse(jar, callbackUrl);
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/dash?x=1');
    expect(done.headers['referrer-policy']).toBe('no-referrer');
    const setCookies = ([] as string[]).concat(done.headers['set-cookie'] as string[]);
    expect(setCookies.some((c) => /^claimgate_session_tx_[^=]+=;/.test(c))).toBe(true); // transaction removed
    expect(jar.get(gw.url, 'claimgate_session')).toBeDefined();

    const me = await call(`${gw.url}/claimgate/me`, { headers: { cookie: jar.header(gw.url)! } });
    expect(me.status).toBe(200);
    expect(me.json().user.usercode).toBe('ada');
    expect(me.json().roles).toEqual(['admin']);
    const session = await gw.db.knex('sessions').orderBy('created_at', 'desc').first();
    expect(session.issuer_id).toBe('idp');
    const data = typeof session.data === 'string' ? JSON.parse(session.data) : session.data;
    expect(typeof data.sid).toBe('string');

    const logs = gw.logs.join('\n');
    expect(logs).not.toContain(cbUrl.searchParams.get('code')!);
    expect(logs).not.toContain(cbUrl.searchParams.get('state')!);
    expect(logs).not.toContain(CLIENT_SECRET);
    expect(logs).not.toContain(data.idTokenHint.split('.')[2]);
  });

  it('a second sign-in replaces the session the browser came with (no fixation)', async () => {
    const jar = new CookieJar();
    await browse(jar, (await startLogin(gw, jar, 'bob')).callbackUrl);
    const first = jar.get(gw.url, 'claimgate_session')!;
    await browse(jar, (await startLogin(gw, jar, 'bob')).callbackUrl);
    const second = jar.get(gw.url, 'claimgate_session')!;
    expect(second).not.toBe(first);
    expect((await call(`${gw.url}/claimgate/me`, { headers: { cookie: `claimgate_session=${first}` } })).status).toBe(401);
  });

  it('the login page starts the flow for the only OIDC issuer; an unknown issuer is a 404 page', async () => {
    const jar = new CookieJar();
    const res = await browse(jar, `${gw.url}/claimgate/login?return_to=/x`);
    expect(res.status).toBe(302);
    expect(String(res.headers.location).startsWith(idp.issuer)).toBe(true);
    const unknown = await browse(jar, `${gw.url}/claimgate/login?issuer=nope`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/text\/html/);
  });

  it('an unsafe return_to falls back to /', async () => {
    const jar = new CookieJar();
    const { callbackUrl } = await startLogin(gw, jar, 'ada', '//evil.example/x');
    const done = await browse(jar, callbackUrl);
    expect(done.headers.location).toBe('/');
  });

  describe('refused callbacks: a clear error page, a stable code, nothing written', () => {
    type Prepared = { url: string; cookie?: string; method?: string; body?: string };
    const rows: [string, number, string, (jar: CookieJar) => Promise<Prepared>][] = [
      [
        'no state',
        400,
        'oidc_state_missing',
        async (jar) => {
          const { callbackUrl } = await startLogin(gw, jar, 'ada');
          const u = new URL(callbackUrl);
          u.searchParams.delete('state');
          return { url: u.href };
        },
      ],
      [
        'a wrong state',
        400,
        'oidc_state_mismatch',
        async (jar) => {
          const { callbackUrl } = await startLogin(gw, jar, 'ada');
          const u = new URL(callbackUrl);
          u.searchParams.set('state', 'x'.repeat(43));
          return { url: u.href };
        },
      ],
      [
        'the callback opened in another browser (login CSRF)',
        400,
        'oidc_state_mismatch',
        async (jar) => {
          const { callbackUrl } = await startLogin(gw, jar, 'ada');
          return { url: callbackUrl, cookie: '' };
        },
      ],
      [
        'a transaction cookie with a forged MAC',
        400,
        'oidc_state_mismatch',
        async (jar) => {
          const { callbackUrl } = await startLogin(gw, jar, 'ada');
          const name = jar.names(gw.url).find((n) => n.includes('_tx_'))!;
          const [payload] = jar.get(gw.url, name)!.split('.');
          return { url: callbackUrl, cookie: `${name}=${payload}.${'A'.repeat(43)}` };
        },
      ],
      [
        'a mismatched RFC 9207 iss',
        400,
        'oidc_iss_mismatch',
        async (jar) => {
          const { callbackUrl } = await startLogin(gw, jar, 'ada');
          const u = new URL(callbackUrl);
          u.searchParams.set('iss', 'https://evil.example');
          return { url: u.href };
        },
      ],
      [
        'a missing iss from a provider that always sends it',
        400,
        'oidc_iss_missing',
        async (jar) => {
          const { callbackUrl } = await startLogin(gw, jar, 'ada');
          const u = new URL(callbackUrl);
          u.searchParams.delete('iss');
          return { url: u.href };
        },
      ],
      [
        'the provider reports an error (user declined)',
        403,
        'oidc_access_denied',
        async (jar) => {
          const { callbackUrl } = await startLogin(gw, jar, 'ada');
          const u = new URL(callbackUrl);
          u.searchParams.delete('code');
          u.searchParams.set('error', 'access_denied');
          return { url: u.href };
        },
      ],
      [
        'a POST to the callback of a query-mode issuer',
        400,
        'oidc_response_mode_mismatch',
        async (jar) => {
          const { callbackUrl } = await startLogin(gw, jar, 'ada');
          const u = new URL(callbackUrl);
          return { url: `${u.origin}${u.pathname}`, method: 'POST', body: u.searchParams.toString() };
        },
      ],
      [
        'an ID token with a mismatched nonce',
        401,
        'oidc_nonce_mismatch',
        async (jar) => {
          idp.tamperToken = async (body) => ({ ...body, id_token: await resignIdToken(idp, body.id_token as string, (c) => ({ ...c, nonce: 'other' })) });
          const { callbackUrl } = await startLogin(gw, jar, 'ada');
          return { url: callbackUrl };
        },
      ],
      [
        'an ID token issued to another client (aud)',
        401,
        'audience_mismatch',
        async (jar) => {
          idp.tamperToken = async (body) => ({ ...body, id_token: await resignIdToken(idp, body.id_token as string, (c) => ({ ...c, aud: 'other-client' })) });
          const { callbackUrl } = await startLogin(gw, jar, 'ada');
          return { url: callbackUrl };
        },
      ],
      [
        'an ID token signed with a key the provider does not publish',
        401,
        'signature_invalid',
        async (jar) => {
          const { privateKey } = await generateKeyPair('RS256');
          idp.tamperToken = async (body) => ({
            ...body,
            id_token: await new SignJWT(decodeJwt(body.id_token as string)).setProtectedHeader({ alg: 'RS256', kid: 'idp-1' }).sign(privateKey),
          });
          const { callbackUrl } = await startLogin(gw, jar, 'ada');
          return { url: callbackUrl };
        },
      ],
      [
        'an ID token for a user the mapping refuses (require)',
        403,
        'login_denied',
        async (jar) => {
          const { callbackUrl } = await startLogin(gw, jar, 'eve');
          return { url: callbackUrl };
        },
      ],
    ];

    it.each(rows)('%s → %i %s', async (_name, status, code, prepare) => {
      const jar = new CookieJar();
      let prepared: Prepared;
      try {
        prepared = await prepare(jar);
      } finally {
        // tamperToken applies to the one exchange the callback makes
      }
      const users = await count(gw, 'users');
      const sessions = await count(gw, 'sessions');
      const headers: Record<string, string> = { accept: 'application/json' };
      const cookie = prepared.cookie === undefined ? jar.header(gw.url) : prepared.cookie;
      if (cookie) headers.cookie = cookie;
      if (prepared.body) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await call(prepared.url, { method: prepared.method ?? 'GET', headers, body: prepared.body });
      idp.tamperToken = undefined;
      expect({ status: res.status, code: res.json().code }).toEqual({ status, code });
      expect(await count(gw, 'users')).toBe(users);
      expect(await count(gw, 'sessions')).toBe(sessions);
      const html = await call(prepared.url, { method: prepared.method ?? 'GET', headers: { ...headers, accept: 'text/html' }, body: prepared.body });
      expect(html.status).toBeGreaterThanOrEqual(400);
      expect(html.headers['content-type']).toMatch(/text\/html/);
    });

    it('a replayed authorization code is refused and writes nothing', async () => {
      const jar = new CookieJar();
      const { callbackUrl } = await startLogin(gw, jar, 'bob');
      const cookie = jar.header(gw.url)!;
      const first = await call(callbackUrl, { headers: { cookie } });
      expect(first.status).toBe(303);
      const sessions = await count(gw, 'sessions');
      // The attacker replays the whole request, transaction cookie included.
      const again = await call(callbackUrl, { headers: { cookie, accept: 'application/json' } });
      expect(again.status).toBe(400);
      expect(again.json().code).toBe('oidc_code_invalid');
      expect(await count(gw, 'sessions')).toBe(sessions);
    });
  });

  it('a slow token endpoint times out with a clear 504 page instead of hanging; nothing is written', async () => {
    const jar = new CookieJar();
    const { callbackUrl } = await startLogin(gw, jar, 'ada');
    const sessions = await count(gw, 'sessions');
    idp.delays.set('/token', 4000);
    try {
      const t0 = Date.now();
      const res = await call(callbackUrl, { headers: { cookie: jar.header(gw.url)!, accept: 'text/html' } });
      expect(Date.now() - t0).toBeLessThan(3500);
      expect(res.status).toBe(504);
      expect(res.text).toContain('oidc_provider_timeout');
    } finally {
      idp.delays.delete('/token');
    }
    expect(await count(gw, 'sessions')).toBe(sessions);
  });
});

describe('OIDC provider down or slow at discovery', () => {
  it('answers 502 at once for a provider that refuses connections, 504 after the timeout for a silent one', async () => {
    const idp = await startTestProvider({ clients: [webClient('http://127.0.0.1:9')], accounts: ACCOUNTS });
    const issuer = idp.issuer;
    await idp.close();
    const down = await startTestGateway({ issuers: [oidcIssuer(issuer)] });
    try {
      const res = await call(`${down.url}/claimgate/login?issuer=idp`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(502);
      expect(res.text).toContain('oidc_provider_unavailable');
    } finally {
      await down.close();
    }

    const slow = await startTestProvider({ clients: [webClient('http://127.0.0.1:9')], accounts: ACCOUNTS });
    slow.delays.set('/.well-known', 3000);
    const gw = await startTestGateway({ issuers: [oidcIssuer(slow.issuer)] });
    try {
      const t0 = Date.now();
      const res = await call(`${gw.url}/claimgate/login?issuer=idp`, { headers: { accept: 'application/json' } });
      expect(Date.now() - t0).toBeLessThan(4000);
      expect(res.status).toBe(504);
      expect(res.json().code).toBe('oidc_provider_timeout');
    } finally {
      await gw.close();
      await slow.close();
    }
  });
});
