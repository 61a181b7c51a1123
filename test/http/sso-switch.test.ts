import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const BOB = { sub: 'u-bob', preferred_username: 'bob', email: 'bob@example.test', name: 'Bob', groups: ['bi-analysts'] };
const html = { accept: 'text/html' };

/** Login CSRF through a sign-in link: a different user already signed in is asked before the session is switched. */
describe('a sign-in link opened while another user is signed in', () => {
  let gw: TestGateway;
  let offset = 0;
  beforeAll(async () => {
    gw = await startTestGateway({}, {}, { now: () => Date.now() + offset });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const signIn = async (claims: Record<string, unknown> = {}) => {
    const r = await call(`${gw.url}/claimgate/sso?jwt=${await gw.token(claims)}`);
    expect(r.status).toBe(303);
    return cookieOf(r.headers['set-cookie']);
  };
  const whoAmI = async (cookie: string) => {
    const r = await call(`${gw.url}/claimgate/me`, { headers: { cookie } });
    return r.status === 200 ? (r.json().user.usercode as string) : r.status;
  };
  const count = async (t: string) => Number(((await gw.db.knex(t).count({ n: '*' }).first()) as { n: string | number }).n);
  const field = (page: string, name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(page)?.[1];
  /** Victim (ada) is signed in; the attacker's link (bob) is opened in her browser. */
  const held = async () => {
    await signIn(BOB); // bob exists
    const victim = await signIn();
    const link = await gw.token(BOB);
    const sessions = await count('sessions');
    const page = await call(`${gw.url}/claimgate/sso?jwt=${link}&return_to=${encodeURIComponent('/reports/7')}`, { headers: { ...html, cookie: victim } });
    return { victim, link, sessions, page, pending: field(page.text, 'pending')!, csrf: field(page.text, 'csrf_token')! };
  };
  const confirm = (cookie: string | undefined, form: Record<string, string>) =>
    call(`${gw.url}/claimgate/sso/confirm`, {
      method: 'POST',
      headers: { ...(cookie ? { cookie } : {}), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
    });

  it('shows "Continue as bob? You are signed in as ada" and changes nothing', async () => {
    const { victim, link, sessions, page } = await held();
    expect(page.status).toBe(200);
    expect(page.headers['set-cookie']).toBeUndefined();
    expect(page.text).toContain('Continue as bob?');
    expect(page.text).toMatch(/You are signed in as <strong>ada<\/strong>/);
    expect(page.text).toContain('action="/claimgate/sso/confirm"');
    expect(page.text).not.toContain(link);
    expect(page.headers['content-security-policy']).toBe("frame-ancestors 'none'");
    expect(await whoAmI(victim)).toBe('ada');
    expect(await count('sessions')).toBe(sessions);
    // The link is spent: neither this browser nor another can use it again.
    const again = await call(`${gw.url}/claimgate/sso?jwt=${link}`);
    expect(again.status).toBe(401);
    expect(again.json().code).toBe('jti_replayed');
  });

  it('confirming signs in as bob, lands on return_to and ends ada\'s session; the form works once', async () => {
    const { victim, pending, csrf } = await held();
    const r = await confirm(victim, { pending, csrf_token: csrf });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/reports/7');
    const fresh = cookieOf(r.headers['set-cookie']);
    expect(await whoAmI(fresh)).toBe('bob');
    expect(await whoAmI(victim)).toBe(401);
    const replay = await confirm(victim, { pending, csrf_token: csrf });
    expect(replay.status).toBe(403);
    expect(replay.json().code).toBe('csrf_failed');
    const replayAsBob = await confirm(fresh, { pending, csrf_token: csrf });
    expect(replayAsBob.status).toBe(403);
  });

  it.each<[string, (h: Awaited<ReturnType<typeof held>>, other: string) => [string | undefined, Record<string, string>]]>([
    ['without the CSRF token', (h) => [h.victim, { pending: h.pending }]],
    ['with a wrong CSRF token', (h) => [h.victim, { pending: h.pending, csrf_token: h.csrf.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }]],
    ['from a browser without a session', (h) => [undefined, { pending: h.pending, csrf_token: h.csrf }]],
    ['from another browser (another session) with the right fields', (h, other) => [other, { pending: h.pending, csrf_token: h.csrf }]],
    ['with a tampered sign-in', (h) => [h.victim, { pending: h.pending.replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`), csrf_token: h.csrf }]],
  ])('a forged confirmation is refused (403 csrf_failed) and writes nothing: %s', async (_name, make) => {
    const h = await held();
    const other = await signIn({ sub: 'u-carol', preferred_username: 'carol', groups: [] });
    const [cookie, form] = make(h, other);
    const users = await count('users');
    const sessions = await count('sessions');
    const r = await confirm(cookie, form);
    expect(r.status).toBe(403);
    expect(r.json().code).toBe('csrf_failed');
    expect(await count('users')).toBe(users);
    expect(await count('sessions')).toBe(sessions);
    expect(await whoAmI(h.victim)).toBe('ada');
  });

  it('a confirmation older than five minutes is refused', async () => {
    const { victim, pending, csrf } = await held();
    offset = 301_000;
    try {
      const r = await confirm(victim, { pending, csrf_token: csrf });
      expect(r.status).toBe(403);
      expect(r.json().code).toBe('switch_expired');
      expect(await whoAmI(victim)).toBe('ada');
    } finally {
      offset = 0;
    }
  });

  it('the same user opening a link of their own is signed in again directly', async () => {
    const ada = await signIn();
    const r = await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}&return_to=/x`, { headers: { ...html, cookie: ada } });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/x');
    expect(await whoAmI(cookieOf(r.headers['set-cookie']))).toBe('ada');
  });

  it('a refused link is refused as before, not held for confirmation', async () => {
    const ada = await signIn();
    const link = await gw.token(BOB);
    expect((await call(`${gw.url}/claimgate/sso?jwt=${link}`)).status).toBe(303);
    const r = await call(`${gw.url}/claimgate/sso?jwt=${link}`, { headers: { cookie: ada } });
    expect(r.status).toBe(401);
    expect(r.json().code).toBe('jti_replayed');
    expect(await whoAmI(ada)).toBe('ada');
  });

  it('a cross-site form post (which arrives without the Lax session cookie) is turned into the GET, which asks', async () => {
    const ada = await signIn();
    const link = await gw.token(BOB);
    const post = await call(`${gw.url}/claimgate/sso`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      body: new URLSearchParams({ jwt: link, return_to: '/r' }).toString(),
    });
    expect(post.status).toBe(303);
    expect(post.headers['set-cookie']).toBeUndefined();
    const location = String(post.headers.location);
    expect(location).toBe(`/claimgate/sso?${new URLSearchParams({ jwt: link, return_to: '/r' }).toString()}`);
    // The browser follows the 303 as a top-level GET, which carries ada's cookie: the switch is asked for.
    const page = await call(`${gw.url}${location}`, { headers: { ...html, cookie: ada } });
    expect(page.status).toBe(200);
    expect(page.text).toContain('Continue as bob?');
    expect(await whoAmI(ada)).toBe('ada');
  });

  it('a same-site form post (an auth server on this site, or no Origin) signs in directly as before', async () => {
    const r = await call(`${gw.url}/claimgate/sso`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://gateway.test' },
      body: new URLSearchParams({ jwt: await gw.token(BOB) }).toString(),
    });
    expect(r.status).toBe(303);
    expect(await whoAmI(cookieOf(r.headers['set-cookie']))).toBe('bob');
  });
});
