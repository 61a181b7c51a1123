import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { nginxBinary, requireBinary, startNginx, type RunningNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';

/** A GET from a chosen local address (127.0.0.2 plays the trusted proxy, 127.0.0.1 anyone else). */
function get(url: string, headers: Record<string, string>, localAddress = '127.0.0.1') {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>((resolve, reject) => {
    const req = httpRequest(url, { headers, localAddress }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += String(c)));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

const FORWARD_AUTH = {
  upstream: { url: 'http://app.test', mode: 'forward-auth' },
  trustedProxies: ['127.0.0.2'],
  routes: [
    { path: '/assets/*', public: true },
    { path: '/admin/*', anyRole: ['admin'] },
    { path: '/reports/*', methods: ['POST'], anyPermission: ['finance_read'] },
  ],
};

describe('forward-auth mode: GET /claimgate/auth', () => {
  let gw: TestGateway;
  let ada: string;
  let bob: string;
  beforeAll(async () => {
    gw = await startTestGateway(FORWARD_AUTH);
    ada = cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`)).headers['set-cookie']);
    bob = cookieOf(
      (await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ sub: 'u-bob', preferred_username: 'bob', email: 'bob@example.test', groups: [] })}`)).headers[
        'set-cookie'
      ],
    );
  });
  afterAll(async () => {
    await gw?.close();
  });

  const auth = (headers: Record<string, string>, from = '127.0.0.2') => get(`${gw.url}/claimgate/auth`, headers, from);

  it('200 with the identity headers and a verifiable assertion for a session', async () => {
    const res = await auth({ cookie: ada, 'x-original-uri': '/dashboards/1' });
    expect(res.status).toBe(200);
    expect(res.headers['x-claimgate-user']).toBe('ada');
    expect(res.headers['x-claimgate-roles']).toBe('admin');
    expect(res.headers['cache-control']).toBe('no-store');
    const jwks = (await call(`${gw.url}/claimgate/jwks.json`)).json();
    const { payload } = await jwtVerify(String(res.headers['x-claimgate-assertion']), createLocalJWKSet(jwks), {
      issuer: 'http://gateway.test',
      audience: 'http://app.test',
      typ: 'claimgate-assertion+jwt',
    });
    expect(payload.usercode).toBe('ada');
  });

  it('200 for a bearer token of a trusted issuer', async () => {
    const res = await auth({ authorization: `Bearer ${await gw.token({}, { noJti: true })}`, 'x-original-uri': '/x' });
    expect(res.status).toBe(200);
    expect(res.headers['x-claimgate-user']).toBe('ada');
  });

  it.each([
    ['no credential', {}, 401, 'unauthenticated'],
    ['a garbage bearer token', { authorization: 'Bearer abc.def.ghi' }, 401, 'token_malformed'],
    ['a forged session cookie', { cookie: `claimgate_session=${'A'.repeat(43)}.${'B'.repeat(43)}` }, 401, 'unauthenticated'],
  ])('%s → 401', async (_n, headers, status, code) => {
    const res = await auth({ ...headers, 'x-original-uri': '/dashboards/1', accept: 'application/json' });
    expect(res.status).toBe(status);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(JSON.parse(res.text).code).toBe(code);
    expect(res.headers['x-claimgate-user']).toBeUndefined();
    expect(res.headers['x-claimgate-login']).toBe('/claimgate/login?return_to=%2Fdashboards%2F1');
  });

  it('route rules apply to the original URI and method named by a trusted proxy', async () => {
    expect((await auth({ cookie: bob, 'x-original-uri': '/admin/users' })).status).toBe(403);
    expect((await auth({ cookie: ada, 'x-original-uri': '/admin/users' })).status).toBe(200);
    expect((await auth({ cookie: bob, 'x-forwarded-uri': '/ADMIN/users' })).status).toBe(403); // Traefik's header
    expect((await auth({ cookie: bob, 'x-original-uri': '/reports/1', 'x-original-method': 'POST' })).status).toBe(403);
    expect((await auth({ cookie: bob, 'x-original-uri': '/reports/1', 'x-original-method': 'GET' })).status).toBe(200);
    const pub = await auth({ 'x-original-uri': '/assets/app.js' });
    expect(pub.status).toBe(200);
    expect(pub.headers['x-claimgate-user']).toBeUndefined();
    expect((await auth({ cookie: ada, 'x-original-uri': '/admin%2Fusers' })).status).toBe(403);
  });

  it('from an untrusted peer X-Original-URI is ignored: the decision is for "/"', async () => {
    // A client calling /auth directly cannot pick a public path to get a 200 without identity...
    expect((await auth({ 'x-original-uri': '/assets/x' }, '127.0.0.1')).status).toBe(401);
    // ...nor dodge a rule: bob is allowed "/", so this is 200, but it says nothing about /admin.
    const res = await auth({ cookie: bob, 'x-original-uri': '/admin/x' }, '127.0.0.1');
    expect(res.status).toBe(200);
    expect(res.headers['x-claimgate-login']).toBeUndefined();
  });

  it('answers only 200, 401 or 403 — even for a suspended user or a browser', async () => {
    const carol = cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ sub: 'u-carol', preferred_username: 'carol' })}`)).headers['set-cookie']);
    await gw.db.knex('users').where({ usercode: 'carol' }).update({ lifecycle: 'SUSPENDED' });
    await gw.running.gateway.parts.bus.publish({ kind: 'all' });
    expect((await auth({ cookie: carol, 'x-original-uri': '/' })).status).toBe(403);
    const page = await auth({ accept: 'text/html', 'x-original-uri': '/reports?q=1' });
    expect(page.status).toBe(401);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('/claimgate/login?return_to=%2Freports%3Fq%3D1');
  });
});

const nginx = nginxBinary();
const mode = requireBinary('nginx', nginx !== null);
(mode === 'run' ? describe : describe.skip)('forward-auth behind a real nginx (auth_request)', () => {
  let gw: TestGateway;
  let ngx: RunningNginx;
  beforeAll(async () => {
    const port = await freePort();
    gw = await startTestGateway({ ...FORWARD_AUTH, publicUrl: `http://127.0.0.1:${port}` });
    ngx = await startNginx({ port, gatewayPort: Number(new URL(gw.url).port), appPort: Number(new URL(gw.app.url).port), bindAddress: '127.0.0.2' });
  });
  afterAll(async () => {
    await ngx?.close();
    await gw?.close();
  });

  const signIn = async (claims: Record<string, unknown> = {}) => {
    const res = await call(`${ngx.url}/claimgate/sso?jwt=${await gw.token(claims)}&return_to=/dash`);
    expect(res.status).toBe(303);
    return cookieOf(res.headers['set-cookie']);
  };

  it('a browser without a session is sent to sign in with its original URI; an API client gets 401', async () => {
    const page = await call(`${ngx.url}/reports/7?q=a&b=c`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(302);
    expect(page.headers.location).toMatch(/\/claimgate\/login\?return_to=%2Freports%2F7%3Fq%3Da%26b%3Dc$/);
    const api = await call(`${ngx.url}/reports/7`);
    expect(api.status).toBe(401);
    expect(api.headers['www-authenticate']).toBe('Bearer');
    expect(gw.app.seen.length).toBe(0);
  });

  it('a signed-in request reaches the app with the gateway identity headers; client-sent ones are replaced or dropped', async () => {
    const cookie = await signIn();
    const res = await call(`${ngx.url}/dash?x=1`, {
      headers: {
        cookie,
        'X-Claimgate-User': 'mallory',
        'x-claimgate-roles': 'superuser',
        X_Claimgate_User: 'mallory',
        'X-CLAIMGATE-ASSERTION': 'forged',
      },
    });
    expect(res.status).toBe(200);
    const seen = res.json();
    expect(seen.url).toBe('/dash?x=1');
    expect(seen.headers['x-claimgate-user']).toBe('ada');
    expect(seen.headers['x-claimgate-roles']).toBe('admin');
    expect(seen.headers['x-claimgate-assertion']).toMatch(/^eyJ/);
    expect(Object.keys(seen.headers).filter((h) => /claimgate/i.test(h) && h.includes('_'))).toEqual([]);
  });

  it('route rules see the original path: 403 for a role the user lacks, 200 for one they have', async () => {
    const bob = await signIn({ sub: 'u-bob', preferred_username: 'bob', groups: [] });
    const ada = await signIn();
    expect((await call(`${ngx.url}/admin/users`, { headers: { cookie: bob } })).status).toBe(403);
    expect((await call(`${ngx.url}/admin/users`, { headers: { cookie: ada } })).status).toBe(200);
    expect((await call(`${ngx.url}/a/../admin/users`, { headers: { cookie: bob } })).status).toBe(403);
  });

  it('a public path passes without a session and without identity, even when the client sends some', async () => {
    const res = await call(`${ngx.url}/assets/app.js`, { headers: { 'x-claimgate-user': 'mallory' } });
    expect(res.status).toBe(200);
    expect(res.json().headers['x-claimgate-user']).toBeUndefined();
  });
});
