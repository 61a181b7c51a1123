import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('sign-in, sessions and forwarding (proxy mode, real HTTP)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  const sso = async (claims: Record<string, unknown> = {}, returnTo = '/dashboards/42', opts = {}) => {
    const jwt = await gw.token(claims, opts);
    return { jwt, res: await call(`${gw.url}/claimgate/sso?jwt=${jwt}&return_to=${encodeURIComponent(returnTo)}`) };
  };
  const userCount = async () => Number((await gw.db.knex('users').count({ n: '*' }))[0]!.n);
  const sessionCount = async () => Number((await gw.db.knex('sessions').count({ n: '*' }))[0]!.n);

  it('an SSO link signs the user in: 303 to return_to, a fresh HttpOnly cookie, no referrer', async () => {
    const { jwt, res } = await sso();
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/dashboards/42');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^claimgate_session=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).not.toMatch(/Secure/i); // http publicUrl
    expect(gw.logs.join('\n')).not.toContain(jwt);
    expect(gw.logs.join('\n')).not.toContain(jwt.split('.')[2]!);
  });

  it('forwards the session to the app with identity headers and a verifiable assertion', async () => {
    const { res } = await sso({ name: 'Ada Lövelace', groups: ['bi-admins', 'finance'], regions: ['EU', 'US'] });
    const cookie = cookieOf(res.headers['set-cookie']);
    const page = await call(`${gw.url}/dashboards/42?x=1`, {
      headers: { cookie: `${cookie}; other=keep`, host: 'evil.example', 'x-forwarded-host': 'evil.example', forwarded: 'host=evil.example', 'x-real-ip': '6.6.6.6', 'x-original-uri': '/admin' },
    });
    expect(page.status).toBe(200);
    const seen = page.json();
    expect(seen.url).toBe('/dashboards/42?x=1');
    const h = seen.headers;
    expect(h['x-claimgate-user']).toBe('ada');
    expect(h['x-claimgate-email']).toBe('ada@example.test');
    expect(decodeURIComponent(h['x-claimgate-name'])).toBe('Ada Lövelace');
    expect(h['x-claimgate-roles']).toBe('admin');
    expect(h['x-claimgate-permissions']).toBe('finance_read');
    expect(h['x-claimgate-user-id']).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    // An untrusted client cannot tell the app which host, address or URI the request had.
    expect(h['x-forwarded-host']).toBe('gateway.test');
    expect(h.forwarded).toBeUndefined();
    expect(h['x-real-ip']).toBeUndefined();
    expect(h['x-original-uri']).toBeUndefined();
    expect(h.cookie).toBe('other=keep'); // the gateway's own cookie never reaches the app

    const jwks = (await call(`${gw.url}/claimgate/jwks.json`)).json();
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const assertion = h['x-claimgate-assertion'];
    expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'ES256', typ: 'claimgate-assertion+jwt' });
    const { payload } = await jwtVerify(assertion, createLocalJWKSet(jwks), {
      issuer: 'http://gateway.test',
      audience: gw.app.url,
      typ: 'claimgate-assertion+jwt',
    });
    expect(payload).toMatchObject({
      sub: h['x-claimgate-user-id'],
      usercode: 'ada',
      email: 'ada@example.test',
      roles: ['admin'],
      permissions: ['finance_read'],
      attributes: { region: ['EU', 'US'] },
    });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60);
  });

  it('a removed group removes the role at the next login, and /me says so', async () => {
    await sso({ preferred_username: 'bob', sub: 'u-bob', groups: ['bi-admins'] });
    const { res } = await sso({ preferred_username: 'bob', sub: 'u-bob', groups: ['bi-analysts'] });
    const me = await call(`${gw.url}/claimgate/me`, { headers: { cookie: cookieOf(res.headers['set-cookie']) } });
    expect(me.status).toBe(200);
    const body = me.json();
    expect(body.roles).toEqual(['analyst']);
    expect(body.user.usercode).toBe('bob');
    expect(body.user.roles).toEqual([{ name: 'analyst', source: 'mapping:corp' }]);
    expect(new Date(body.session.expiresAt).getTime()).toBeGreaterThan(Date.now());
  });

  it('an SSO link is single-use, and needs a jti', async () => {
    const { jwt, res } = await sso();
    expect(res.status).toBe(303);
    const again = await call(`${gw.url}/claimgate/sso?jwt=${jwt}`);
    expect(again.status).toBe(401);
    expect(again.json().code).toBe('jti_replayed');
    expect(again.headers['www-authenticate']).toMatch(/^Bearer/);
    // A used link does not live on as a bearer token either.
    const asBearer = await call(`${gw.url}/api/x`, { headers: { authorization: `Bearer ${jwt}` } });
    expect(asBearer.status).toBe(401);
    expect(asBearer.json().code).toBe('jti_replayed');
    const noJti = await sso({}, '/', { noJti: true });
    expect(noJti.res.status).toBe(401);
    expect(noJti.res.json().code).toBe('jti_missing');
  });

  it('POST /sso accepts a form field, a JSON body and a bearer header', async () => {
    const form = await call(`${gw.url}/claimgate/sso`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `jwt=${await gw.token()}&return_to=%2Freports`,
    });
    expect(form.status).toBe(303);
    expect(form.headers.location).toBe('/reports');
    const json = await call(`${gw.url}/claimgate/sso`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jwt: await gw.token() }),
    });
    expect(json.status).toBe(303);
    expect(json.headers.location).toBe('/');
    const bearer = await call(`${gw.url}/claimgate/sso`, { method: 'POST', headers: { authorization: `Bearer ${await gw.token()}` } });
    expect(bearer.status).toBe(303);
  });

  it.each([
    ['//evil.example/x'],
    ['/\\evil.example'],
    ['\\/evil.example'],
    ['/%09/evil.example'],
    ['/%0d%0aSet-Cookie:x=y'],
    ['javascript:alert(1)'],
    ['https://evil.example/'],
    ['http://gateway.test.evil.example/'],
    ['http://evil.example@gateway.test/'],
  ])('return_to %s falls back to /', async (returnTo) => {
    const { res } = await sso({}, returnTo);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
  });

  it('return_to of the own origin is kept', async () => {
    const { res } = await sso({}, 'http://gateway.test/a/b?c=d');
    expect(['http://gateway.test/a/b?c=d', '/a/b?c=d']).toContain(res.headers.location);
  });

  it.each([
    ['expired', { exp: Math.floor(Date.now() / 1000) - 600 }, 401, 'token_expired'],
    ['wrong audience', { aud: 'someone-else' }, 401, 'audience_mismatch'],
    ['unknown issuer', { iss: 'https://other.example' }, 401, 'issuer_unknown'],
    ['denied by require', { email_verified: false }, 403, 'login_denied'],
  ])('refuses a token that is %s, writing no user or session', async (_n, claims, status, code) => {
    const [users, sessions] = [await userCount(), await sessionCount()];
    const { res } = await sso({ preferred_username: `nobody-${code}`, sub: `s-${code}`, ...claims });
    expect(res.status).toBe(status);
    expect(res.json().code).toBe(code);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect([await userCount(), await sessionCount()]).toEqual([users, sessions]);
  });

  it('the require rule message is shown, and an HTML page for browsers', async () => {
    const jwt = await gw.token({ email_verified: false });
    const res = await call(`${gw.url}/claimgate/sso?jwt=${jwt}`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('Your e-mail address is not verified');
    expect(res.text).toContain('login_denied');
    expect(res.text).not.toContain(jwt);
    const api = await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ email_verified: false })}`);
    expect(api.json()).toEqual({ type: 'urn:claimgate:error:login_denied', title: 'Access denied', status: 403, detail: 'Your e-mail address is not verified', code: 'login_denied' });
  });

  it('garbage tokens, oversized tokens and garbage cookies get a clean 4xx', async () => {
    expect((await call(`${gw.url}/claimgate/sso?jwt=not.a.jwt`)).json().code).toBe('token_malformed');
    const big = await call(`${gw.url}/claimgate/sso`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jwt: `eyJ${'A'.repeat(100_000)}.e30.x` }),
    });
    expect(big.status).toBe(401);
    expect(big.json().code).toBe('token_malformed');
    const missing = await call(`${gw.url}/claimgate/sso`);
    expect(missing.status).toBe(400);
    for (const cookie of ['claimgate_session=', 'claimgate_session=%E0%A4%A', `claimgate_session=${'x'.repeat(5000)}`, '=;;;=;claimgate_session']) {
      const res = await call(`${gw.url}/api/x`, { headers: { cookie } });
      expect(res.status).toBe(401);
    }
    expect((await call(`${gw.url}/claimgate/health/live`)).status).toBe(200);
  });

  it('without a session: API clients get 401 with WWW-Authenticate, browsers go to sign in', async () => {
    const api = await call(`${gw.url}/api/data`);
    expect(api.status).toBe(401);
    expect(api.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(api.headers['content-type']).toMatch(/application\/problem\+json/);
    const browser = await call(`${gw.url}/dashboards/7?tab=2`, { headers: { accept: 'text/html' } });
    expect(browser.status).toBe(302);
    expect(browser.headers.location).toBe('/claimgate/login?return_to=%2Fdashboards%2F7%3Ftab%3D2');
    expect(gw.app.seen.some((s) => s.url.startsWith('/api/data'))).toBe(false);
  });

  it('a bearer JWT of a trusted issuer is forwarded; a reused token is verified once', async () => {
    const jwt = await gw.token({ preferred_username: 'api-client', sub: 'svc-1', groups: ['bi-analysts'] }, { noJti: true });
    const before = gw.running.gateway.parts.trustMap.stats.signatureVerifications;
    for (let i = 0; i < 5; i++) {
      const res = await call(`${gw.url}/api/v1/data`, { headers: { authorization: `Bearer ${jwt}` } });
      expect(res.status).toBe(200);
      expect(res.json().headers['x-claimgate-user']).toBe('api-client');
      expect(res.json().headers['x-claimgate-roles']).toBe('analyst');
      expect(res.json().headers.authorization).toBe(`Bearer ${jwt}`);
    }
    expect(gw.running.gateway.parts.trustMap.stats.signatureVerifications - before).toBe(1);
    const bad = await call(`${gw.url}/api/v1/data`, { headers: { authorization: 'Bearer abc.def.ghi' } });
    expect(bad.status).toBe(401);
    expect(bad.json().code).toBe('token_malformed');
  });

  it('strips client-sent identity headers in any case and spelling, on every path and method', async () => {
    const { res } = await sso({ groups: [] });
    const cookie = cookieOf(res.headers['set-cookie']);
    const spoof = {
      'X-Claimgate-User': 'root',
      'x-claimgate-roles': 'admin',
      'X_Claimgate_Email': 'evil@example',
      'X-CLAIMGATE-ASSERTION': 'forged',
      'x-claimgate-anything': 'x',
    };
    for (const [method, path, extra] of [
      ['GET', '/assets/app.js', {}],
      ['OPTIONS', '/assets/app.js', {}],
      ['POST', '/dashboards/1', { cookie }],
      ['GET', '/dashboards/1', { cookie }],
    ] as const) {
      gw.app.seen.length = 0;
      const r = await call(`${gw.url}${path}`, { method, headers: { ...spoof, ...extra } });
      expect(r.status).toBe(200);
      const h = gw.app.seen[0]!.headers;
      for (const name of Object.keys(h)) expect(name.replace(/_/g, '-').toLowerCase().startsWith('x-claimgate-') && h[name] === 'root').toBe(false);
      expect(h['x-claimgate-roles'] ?? '').not.toBe('admin');
      expect(h['x-claimgate-anything']).toBeUndefined();
      expect(h['x_claimgate_email']).toBeUndefined();
      if ('cookie' in extra) expect(h['x-claimgate-user']).toBe('ada');
      else expect(h['x-claimgate-user']).toBeUndefined();
    }
  });

  it('route rules: 403 without the role, matched on the normalised path only', async () => {
    const analyst = cookieOf((await sso({ preferred_username: 'carol', sub: 'u-carol', groups: ['bi-analysts'] })).res.headers['set-cookie']);
    const admin = cookieOf((await sso()).res.headers['set-cookie']);
    for (const path of ['/admin', '/admin/x', '/ADMIN/x', '//admin/x', '/a/../admin/x', '/admin/./x']) {
      const r = await call(`${gw.url}${path}`, { headers: { cookie: analyst } });
      expect([path, r.status]).toEqual([path, 403]);
    }
    expect((await call(`${gw.url}/admin%2Fx`, { headers: { cookie: analyst } })).status).toBe(400);
    expect((await call(`${gw.url}/admin/x`, { headers: { cookie: admin } })).status).toBe(200);
  });

  it('logout ends the session on the server; a GET only shows a confirm page', async () => {
    const cookie = cookieOf((await sso()).res.headers['set-cookie']);
    const page = await call(`${gw.url}/claimgate/logout`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<form method="post"/);
    expect((await call(`${gw.url}/claimgate/me`, { headers: { cookie } })).status).toBe(200);
    const out = await call(`${gw.url}/claimgate/logout`, { method: 'POST', headers: { cookie, origin: 'http://gateway.test' } });
    expect(out.status).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/claimgate_session=;|Max-Age=0|Expires=Thu, 01 Jan 1970/);
    expect((await call(`${gw.url}/claimgate/me`, { headers: { cookie } })).status).toBe(401);
    expect((await call(`${gw.url}/dashboards/1`, { headers: { cookie } })).status).toBe(401);
  });

  it('a cross-site logout form is refused', async () => {
    const cookie = cookieOf((await sso()).res.headers['set-cookie']);
    const r = await call(`${gw.url}/claimgate/logout`, { method: 'POST', headers: { cookie, origin: 'https://evil.example' } });
    expect(r.status).toBe(403);
    expect((await call(`${gw.url}/claimgate/me`, { headers: { cookie } })).status).toBe(200);
  });

  it('a new sign-in issues a new session id and ends the one the browser came with', async () => {
    const first = cookieOf((await sso()).res.headers['set-cookie']);
    const jwt = await gw.token();
    const second = await call(`${gw.url}/claimgate/sso?jwt=${jwt}`, { headers: { cookie: first } });
    const next = cookieOf(second.headers['set-cookie']);
    expect(next).not.toBe(first);
    expect((await call(`${gw.url}/claimgate/me`, { headers: { cookie: first } })).status).toBe(401);
    expect((await call(`${gw.url}/claimgate/me`, { headers: { cookie: next } })).status).toBe(200);
  });

  it('a suspended user is refused at once, session and bearer alike', async () => {
    const { res } = await sso({ preferred_username: 'dave', sub: 'u-dave' });
    const cookie = cookieOf(res.headers['set-cookie']);
    const bearer = await gw.token({ preferred_username: 'dave', sub: 'u-dave' }, { noJti: true });
    expect((await call(`${gw.url}/x`, { headers: { cookie } })).status).toBe(200);
    expect((await call(`${gw.url}/x`, { headers: { authorization: `Bearer ${bearer}` } })).status).toBe(200);
    const user = await gw.running.gateway.parts.users.getByUsercode('dave');
    await gw.running.gateway.parts.users.setLifecycle(user!.id, 'SUSPENDED', { actor: 'test' });
    // Suspension ended the session (401: sign in again, which then says user_suspended); the bearer gets 403.
    expect((await call(`${gw.url}/x`, { headers: { cookie } })).status).toBe(401);
    const b = await call(`${gw.url}/x`, { headers: { authorization: `Bearer ${bearer}` } });
    expect(b.status).toBe(403);
    expect(b.json().code).toBe('user_suspended');
    const again = await sso({ preferred_username: 'dave', sub: 'u-dave' });
    expect(again.res.status).toBe(403);
    expect(again.res.json().code).toBe('user_suspended');
    // Reactivation restores the user's rights, not the sessions that suspension ended.
    await gw.running.gateway.parts.users.setLifecycle(user!.id, 'ACTIVE', { actor: 'test' });
    expect((await call(`${gw.url}/x`, { headers: { cookie } })).status).toBe(401);
    expect((await call(`${gw.url}/x`, { headers: { authorization: `Bearer ${bearer}` } })).status).toBe(200);
  });

  it('twenty simultaneous first logins of one person create one user', async () => {
    const tokens = await Promise.all(Array.from({ length: 20 }, () => gw.token({ preferred_username: 'erin', sub: 'u-erin' })));
    const results = await Promise.all(tokens.map((t) => call(`${gw.url}/claimgate/sso?jwt=${t}`)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(303));
    const rows = await gw.db.knex('users').whereRaw('lower(usercode) = ?', ['erin']);
    expect(rows).toHaveLength(1);
  });

  it('streams large uploads and downloads through the proxy', async () => {
    const cookie = cookieOf((await sso()).res.headers['set-cookie']);
    const size = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 1);
    async function* body() {
      for (let i = 0; i < size / chunk.length; i++) yield chunk;
    }
    gw.app.seen.length = 0;
    const up = await call(`${gw.url}/upload`, { method: 'PUT', headers: { cookie, 'content-type': 'application/octet-stream' }, body: body() as never });
    expect(up.status).toBe(200);
    expect(up.json().bytes).toBe(size);
    const { request } = await import('undici');
    const down = await request(`${gw.url}/download/${size}`, { headers: { cookie } });
    let received = 0;
    for await (const c of down.body) received += (c as Buffer).length;
    expect(received).toBe(size);
  });

  it('the app down is 502, too slow is 504, each with a clear page', async () => {
    const cookie = cookieOf((await sso()).res.headers['set-cookie']);
    gw.app.delays.set('/slow', 4000);
    const slow = await call(`${gw.url}/slow`, { headers: { cookie } });
    expect(slow.status).toBe(504);
    expect(slow.json().code).toBe('upstream_timeout');
    gw.app.delays.delete('/slow');
  });

  it('health endpoints answer without credentials', async () => {
    expect((await call(`${gw.url}/claimgate/health/live`)).json()).toEqual({ status: 'ok' });
    const ready = await call(`${gw.url}/claimgate/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.json().checks).toEqual({ database: 'ok', keys: 'ok' });
  });

  it('every request has an id: in the response, to the app, and on its log lines', async () => {
    const { res } = await sso({ preferred_username: 'rid', sub: 'u-rid' });
    const id = String(res.headers['x-request-id']);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const line = gw.logs.map((l) => JSON.parse(l)).find((l) => l.message === 'sign-in' && l.requestId === id);
    expect(line).toBeDefined();
    const cookie = cookieOf(res.headers['set-cookie']);
    const page = await call(`${gw.url}/r`, { headers: { cookie, 'x-request-id': 'trace-1234-abcd' } });
    expect(page.headers['x-request-id']).toBe('trace-1234-abcd');
    expect(page.json().headers['x-request-id']).toBe('trace-1234-abcd');
    const hostile = await call(`${gw.url}/r`, { headers: { cookie, 'x-request-id': 'a b<script>' } });
    expect(hostile.headers['x-request-id']).not.toBe('a b<script>');
  });

  it('no log line holds a token, cookie value or secret', async () => {
    const joined = gw.logs.join('\n');
    expect(joined).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    expect(joined).not.toContain('s'.repeat(40));
    expect(joined).not.toMatch(/claimgate_session=[A-Za-z0-9_-]{20}/);
  });
});

describe('an issuer without SSO links', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({}, { ssoLink: { enabled: false } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('refuses its link with sso_link_disabled but still accepts its bearer tokens', async () => {
    const res = await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`);
    expect(res.status).toBe(403);
    expect(res.json().code).toBe('sso_link_disabled');
    const api = await call(`${gw.url}/api`, { headers: { authorization: `Bearer ${await gw.token()}` } });
    expect(api.status).toBe(200);
  });

  it('the app down is 502', async () => {
    await gw.app.close();
    const api = await call(`${gw.url}/api`, { headers: { authorization: `Bearer ${await gw.token()}` } });
    expect(api.status).toBe(502);
    expect(api.json().code).toBe('upstream_unavailable');
  });
});
