/**
 * Security regression suite (docs/security-model.md): one row per known failure of comparable gateways (oauth2-proxy,
 * mod_auth_openidc, Pomerium, Grafana JWT auth…). Every row states the status, the error code where the
 * endpoint has one, how many users and sessions it may write (none, unless the row is a legitimate sign-in
 * whose redirect target or cookie is what is under test), and how many requests the app behind the gateway
 * received (none unless the row says so: a row about what the app sees cannot pass because it saw nothing).
 * Rows run over real HTTP against real gateways.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportSPKI } from 'jose';
import { isClaimgateHeader } from '../../src/web/identity-headers.js';
import { call, cookieOf, ISS, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeKeyPair, signToken, unsignedToken, type KeyPair } from '../helpers/tokens.js';
import { postExpectingContinue, rawRequest, slowRequest } from '../helpers/raw-http.js';
import { CookieJar, browse, type TestProvider } from '../helpers/oidc-provider.js';
import { startLogin, startOidcGateway } from '../helpers/oidc-setup.js';
import type { Scope } from '../../src/core/credentials/index.js';
import type { RateLimiter } from '../../src/web/rate-limit.js';

type Gw = 'proxy' | 'down' | 'forward' | 'oidc' | 'trusting';

interface Outcome {
  status: number;
  code?: string;
  headers: Record<string, unknown>;
  text: string;
}

interface Row {
  name: string;
  /** Which gateway the row runs against (default proxy). */
  gw?: Gw;
  run: () => Promise<Outcome>;
  status: number;
  /** The stable error code; `null`: the answer has none (a redirect, a SCIM body, Node's own 431…). */
  code: string | null;
  /** Users and sessions the row may add (default: none). */
  writes?: { users?: number; sessions?: number };
  /** Requests the app behind the row's gateway receives during the row (default: none). */
  reaches?: number;
  /** Further assertions on the outcome. */
  then?: (o: Outcome) => void | Promise<void>;
}

const SMUGGLED = 'smuggled-by-client';
/** Every spelling the app (or a CGI/WSGI/Rack layer in front of it) could read as an identity header. */
const SMUGGLE: Record<string, string> = {
  'X-Claimgate-User': `${SMUGGLED}-1`,
  'x-claimgate-roles': `${SMUGGLED}-2`,
  X_Claimgate_User: `${SMUGGLED}-3`,
  'X-CLAIMGATE-EMAIL': `${SMUGGLED}-4`,
  x_claimgate_roles: `${SMUGGLED}-5`,
  'X.Claimgate.Permissions': `${SMUGGLED}-6`,
  'x-ClaimGate_Assertion': `${SMUGGLED}-7`,
  'X-Claimgate': `${SMUGGLED}-8`,
};

const gws = {} as Record<Gw, TestGateway>;
let idp: TestProvider;
const cookies = {} as { ada: string; bob: string; downAda: string; fwdBob: string; trustingBob: string; oidcWarm: boolean };
const creds = {} as Record<'adminRead' | 'adminWrite' | 'metrics' | 'scim' | 'sync', string>;
/** Client id and secret of an admin:write credential, for the token endpoint. */
const writerClient = {} as { id: string; secret: string };
let hsWithPem: string;
let attacker: KeyPair;

const now = () => Math.floor(Date.now() / 1000);
const codeOf = (text: string): string | undefined => {
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const c = j.code ?? j.error ?? j.scimType;
    return typeof c === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
};
const outcome = (r: { status: number; headers: Record<string, unknown>; text: string }): Outcome => ({ ...r, code: codeOf(r.text) });
const get = async (gw: Gw, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) =>
  outcome(await call(`${gws[gw].url}${path}`, { method, headers, body }));
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const counts = async (gw: Gw) => {
  const n = async (t: string) => Number(((await gws[gw].db.knex(t).count({ n: '*' }).first()) as { n: string | number }).n);
  return { users: await n('users'), sessions: await n('sessions') };
};
/** The last request the app received on a gateway, and how many it has seen. */
const seenCount = (gw: Gw) => gws[gw].app.seen.length;
const lastSeen = (gw: Gw) => gws[gw].app.seen.at(-1)!;
/** A sign-in token of the test issuer, iat now; `claims` win. */
const idToken = (claims: Record<string, unknown> = {}, gw: Gw = 'proxy') => gws[gw].token(claims);
/** A token of the test issuer with the test key but an attacker-chosen shape. */
const shaped = (claims: Record<string, unknown>, opts: Parameters<typeof signToken>[1] extends infer O ? Partial<O> : never = {}) =>
  signToken({ iss: ISS, aud: 'claimgate', sub: 'u-ada', preferred_username: 'ada', jti: randomUUID(), ...claims }, { key: gws.proxy.key, now: now(), ...opts });

/** Asserts the app never saw a client-made identity header: only the gateway's own names, never a client's value. */
function appSawNoSmuggledHeader(headers: Record<string, unknown>) {
  for (const [name, value] of Object.entries(headers)) {
    if (!isClaimgateHeader(name)) continue;
    expect(name).toMatch(/^x-claimgate-(user|user-id|email|name|roles|permissions|assertion)$/);
    expect(String(value)).not.toContain(SMUGGLED);
  }
}
const noIdentityAtAll = (headers: Record<string, unknown>) => expect(Object.keys(headers).filter(isClaimgateHeader)).toEqual([]);

beforeAll(async () => {
  // Started together: five gateways (and a provider) one after the other take most of a hook's time on a busy machine.
  [gws.proxy, gws.trusting, gws.down, gws.forward, { idp, gw: gws.oidc }] = await Promise.all([
    startTestGateway({
      routes: [
        { path: '/assets/*', public: true },
        { path: '/admin/*', anyRole: ['admin'] },
        { path: '/reports', anyRole: ['admin'] },
        { path: '/exports/*', methods: ['DELETE'], anyRole: ['admin'] },
      ],
      limits: { gatewayBodyTimeoutSeconds: 2 },
    }),
    // Forward-auth behind a trusted proxy (this host), which names the original URI; and the sign-in limit per /64.
    startTestGateway({
      upstream: { url: 'http://127.0.0.1:9', mode: 'forward-auth' },
      trustedProxies: ['127.0.0.1'],
      rateLimits: { sso: { perMinute: 4 }, token: { perMinute: 3 } },
      limits: { gatewayBodyTimeoutSeconds: 2 },
    }),
    startTestGateway({ upstream: { url: 'http://127.0.0.1:9', timeoutSeconds: 2 } }),
    startTestGateway({ upstream: { url: 'http://127.0.0.1:9', mode: 'forward-auth' } }),
    startOidcGateway(),
  ]);
  const signIn = async (gw: Gw, claims: Record<string, unknown>) => {
    const r = await call(`${gws[gw].url}/claimgate/sso?jwt=${await idToken(claims, gw)}`);
    if (r.status !== 303) throw new Error(`sign-in failed: ${r.status} ${r.text}`);
    return cookieOf(r.headers['set-cookie']);
  };
  cookies.ada = await signIn('proxy', {});
  cookies.bob = await signIn('proxy', { sub: 'u-bob', preferred_username: 'bob', email: 'bob@example.test', groups: ['bi-analysts'] });
  cookies.downAda = await signIn('down', {});
  cookies.fwdBob = await signIn('forward', { sub: 'u-bob', preferred_username: 'bob', groups: ['bi-analysts'] });
  cookies.trustingBob = await signIn('trusting', { sub: 'u-bob', preferred_username: 'bob', groups: ['bi-analysts'] });
  // ada exists on the OIDC gateway too, so its redirect rows add a session only.
  const jar = new CookieJar();
  await browse(jar, (await startLogin(gws.oidc, jar, 'ada')).callbackUrl);
  const make = async (name: string, scopes: Scope[]) => (await gws.proxy.running.gateway.parts.credentials.store.create({ name, scopes })).token;
  creds.adminRead = await make('auditor', ['admin:read']);
  creds.adminWrite = await make('platform', ['admin:write']);
  const writer = await gws.proxy.running.gateway.parts.credentials.store.create({ name: 'platform-client', scopes: ['admin:write'] });
  Object.assign(writerClient, { id: writer.credential.clientId, secret: writer.clientSecret });
  creds.metrics = await make('prometheus', ['metrics:read']);
  creds.scim = await make('entra', ['scim']);
  creds.sync = await make('hr-sync', ['users:sync']);
  hsWithPem = await signToken(
    { iss: ISS, aud: 'claimgate', sub: 'u-ada', jti: randomUUID() },
    { key: new TextEncoder().encode(await exportSPKI(gws.proxy.key.publicKey)), alg: 'HS256', kid: gws.proxy.key.kid, now: now() },
  );
  attacker = await makeKeyPair('RS256', gws.proxy.key.kid);
}, 120_000);

afterAll(async () => {
  for (const g of Object.values(gws)) await g?.close();
  await idp?.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Open redirects (oauth2-proxy CVE-2020-5233, CVE-2020-11053, CVE-2021-21291; Pomerium, Keycloak variants)
const OFF_ORIGIN = [
  '/\\evil.example',
  '\\/evil.example',
  '//evil.example',
  '///evil.example',
  '/%09/evil.example',
  '/\t/evil.example',
  '%09//evil.example',
  '/%0a/evil.example',
  '/%0d%0a/evil.example',
  '/%2F/evil.example',
  '/%5C/evil.example',
  'http://gateway.test.evil.example/',
  'https://gateway.test.evil.example/x',
  'http://gateway.test@evil.example/',
  'http://gateway.test:80@evil.example/',
  'http://evil.example#@gateway.test/',
  'http://evil.example\\@gateway.test/',
  'http://gateway.test%40evil.example/',
  'https:evil.example',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  '/.//evil.example',
  '/x/..//evil.example',
];

const redirectRows: Row[] = [
  ...OFF_ORIGIN.map((target): Row => ({
    name: `/sso return_to=${JSON.stringify(target)} falls back to /`,
    run: async () => get('proxy', `/claimgate/sso?jwt=${await idToken()}&return_to=${encodeURIComponent(target)}`),
    status: 303,
    code: null,
    writes: { sessions: 1 },
    then: (o) => expect(o.headers.location).toBe('/'),
  })),
  ...OFF_ORIGIN.map((target): Row => ({
    name: `/logout return_to=${JSON.stringify(target)} falls back to /`,
    run: async () =>
      get('proxy', '/claimgate/logout', { 'content-type': 'application/x-www-form-urlencoded' }, 'POST', new URLSearchParams({ return_to: target }).toString()),
    status: 303,
    code: null,
    then: (o) => expect(o.headers.location).toBe('/'),
  })),
  ...OFF_ORIGIN.slice(0, 14).map((target): Row => ({
    name: `/login return_to=${JSON.stringify(target)}: to the IdP, and the callback lands on /`,
    gw: 'oidc',
    run: async () => {
      const jar = new CookieJar();
      const { start, callbackUrl } = await startLogin(gws.oidc, jar, 'ada', target);
      expect(new URL(String(start.headers.location)).origin).toBe(idp.issuer);
      const done = await browse(jar, callbackUrl);
      return { ...done, code: codeOf(done.text) };
    },
    status: 303,
    code: null,
    writes: { sessions: 1 },
    then: (o) => expect(o.headers.location).toBe('/'),
  })),
  ...['/#\\/evil.example', '/x?next=\\/evil.example'].map((target): Row => ({
    name: `/sso return_to=${JSON.stringify(target)}: no backslash reaches Location (hash routers, ?next= redirects)`,
    run: async () => get('proxy', `/claimgate/sso?jwt=${await idToken()}&return_to=${encodeURIComponent(target)}`),
    status: 303,
    code: null,
    writes: { sessions: 1 },
    then: (o) => expect(o.headers.location).toBe(target.replace('\\', '%5C')),
  })),
  {
    name: 'control: a same-origin path survives /sso',
    run: async () => get('proxy', `/claimgate/sso?jwt=${await idToken()}&return_to=${encodeURIComponent('/dash/a?b=1#c')}`),
    status: 303,
    code: null,
    writes: { sessions: 1 },
    then: (o) => expect(o.headers.location).toBe('/dash/a?b=1#c'),
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Identity-header smuggling (oauth2-proxy CVE-2025-64484, mod_auth_openidc CVE-2017-6062)
const smuggleRows: Row[] = [
  {
    name: 'OPTIONS with a session: the app gets the gateway\'s identity, not the client\'s',
    reaches: 1,
    run: async () => get('proxy', '/x', { ...SMUGGLE, cookie: cookies.bob }, 'OPTIONS'),
    status: 200,
    code: null,
    then: () => {
      expect(lastSeen('proxy').method).toBe('OPTIONS');
      appSawNoSmuggledHeader(lastSeen('proxy').headers);
      expect(lastSeen('proxy').headers['x-claimgate-user']).toBe('bob');
    },
  },
  {
    name: 'HEAD with a session',
    reaches: 1,
    run: async () => get('proxy', '/x', { ...SMUGGLE, cookie: cookies.bob }, 'HEAD'),
    status: 200,
    code: null,
    then: () => {
      expect(lastSeen('proxy').method).toBe('HEAD');
      appSawNoSmuggledHeader(lastSeen('proxy').headers);
      expect(lastSeen('proxy').headers['x-claimgate-roles']).toBe('analyst');
    },
  },
  {
    name: 'OPTIONS without a session (CORS preflight shape) is refused, not passed through',
    run: async () => {
      const before = seenCount('proxy');
      const o = await get('proxy', '/x', { ...SMUGGLE, origin: 'https://evil.example', 'access-control-request-method': 'POST' }, 'OPTIONS');
      expect(seenCount('proxy')).toBe(before);
      return o;
    },
    status: 401,
    code: 'unauthenticated',
  },
  {
    name: 'a public route: the app sees no identity header at all',
    reaches: 1,
    run: async () => get('proxy', '/assets/app.js', SMUGGLE),
    status: 200,
    code: null,
    then: () => noIdentityAtAll(lastSeen('proxy').headers),
  },
  {
    name: 'a public route with a session: still no identity header',
    reaches: 1,
    run: async () => get('proxy', '/assets/app.js', { ...SMUGGLE, cookie: cookies.ada }, 'OPTIONS'),
    status: 200,
    code: null,
    then: () => noIdentityAtAll(lastSeen('proxy').headers),
  },
  {
    name: 'a 404 under basePath',
    run: async () => get('proxy', '/claimgate/no-such-page', SMUGGLE),
    status: 404,
    code: 'not_found',
    then: (o) => expect(o.text).not.toContain(SMUGGLED),
  },
  {
    name: 'a 401 on an app path',
    run: async () => {
      const before = seenCount('proxy');
      const o = await get('proxy', '/x', SMUGGLE);
      expect(seenCount('proxy')).toBe(before);
      return o;
    },
    status: 401,
    code: 'unauthenticated',
    then: (o) => expect(o.headers['www-authenticate']).toMatch(/^Bearer/),
  },
  {
    name: 'a 403 route rule',
    run: async () => {
      const before = seenCount('proxy');
      const o = await get('proxy', '/admin/x', { ...SMUGGLE, cookie: cookies.bob });
      expect(seenCount('proxy')).toBe(before);
      return o;
    },
    status: 403,
    code: 'route_forbidden',
    then: (o) => expect(o.text).not.toContain(SMUGGLED),
  },
  {
    name: 'a 502 with the app down',
    gw: 'down',
    run: async () => get('down', '/x', { ...SMUGGLE, cookie: cookies.downAda }),
    status: 502,
    code: 'upstream_unavailable',
    then: (o) => expect(o.text).not.toContain(SMUGGLED),
  },
  {
    name: 'forward-auth /auth answers the gateway\'s identity, never the client\'s',
    gw: 'forward',
    run: async () => get('forward', '/claimgate/auth', { ...SMUGGLE, cookie: cookies.fwdBob }),
    status: 200,
    code: null,
    then: (o) => {
      appSawNoSmuggledHeader(o.headers);
      expect(o.headers['x-claimgate-user']).toBe('bob');
    },
  },
  {
    name: 'a client header named like an identity header in raw bytes (repeated, odd case) never reaches the app',
    reaches: 1,
    run: async () => {
      const r = await rawRequest(gws.proxy.url, 'GET', '/x', [
        ['Cookie', cookies.ada],
        ['X-CLAIMGATE-USER', SMUGGLED],
        ['x-claimgate-user', SMUGGLED],
        ['X_CLAIMGATE_ROLES', SMUGGLED],
      ]);
      return { status: r.status, headers: {}, text: r.body };
    },
    status: 200,
    code: null,
    then: () => {
      appSawNoSmuggledHeader(lastSeen('proxy').headers);
      expect(lastSeen('proxy').headers['x-claimgate-user']).toBe('ada');
    },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// X-Forwarded-Uri / X-Original-URI from an untrusted peer (forward-auth; trustedProxies is empty)
const spoofRows: Row[] = ['X-Original-URI', 'X-Forwarded-Uri', 'x_original_uri'].flatMap((h): Row[] => [
  {
    name: `forward-auth: ${h}: /assets/x from an untrusted peer does not make a public decision`,
    gw: 'forward',
    run: async () => get('forward', '/claimgate/auth', { [h]: '/assets/x' }),
    status: 401,
    code: 'unauthenticated',
    // Only the sign-in hint for the proxy (X-Claimgate-Login), no identity.
    then: (o) => expect(Object.keys(o.headers).filter(isClaimgateHeader)).toEqual(['x-claimgate-login']),
  },
  {
    name: `forward-auth: ${h} with X-Forwarded-For of a trusted address from an untrusted peer`,
    gw: 'forward',
    run: async () => get('forward', '/claimgate/auth', { [h]: '/assets/x', 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1' }),
    status: 401,
    code: 'unauthenticated',
  },
]);

// ---------------------------------------------------------------------------------------------------------------
// Session fixation (a cookie set before sign-in is never the one after)
const fixationRows: Row[] = [
  {
    name: 'an attacker-planted cookie value is replaced at sign-in',
    run: async () => {
      const planted = 'claimgate_session=attacker-chosen-value.AAAA';
      const o = await get('proxy', `/claimgate/sso?jwt=${await idToken()}`, { cookie: planted });
      expect(cookieOf(o.headers['set-cookie'] as string[])).not.toBe(planted);
      return o;
    },
    status: 303,
    code: null,
    writes: { sessions: 1 },
  },
  {
    name: 'a valid session (the attacker\'s own, planted in the victim\'s browser) is ended and replaced at sign-in',
    run: async () => {
      const first = await get('proxy', `/claimgate/sso?jwt=${await idToken({ sub: 'u-bob', preferred_username: 'bob', groups: ['bi-analysts'] })}`);
      const planted = cookieOf(first.headers['set-cookie'] as string[]);
      // Another user is signed in in this browser: the link asks first, and the confirmed sign-in replaces the session.
      const page = await get('proxy', `/claimgate/sso?jwt=${await idToken()}`, { cookie: planted, accept: 'text/html' });
      expect(page.status).toBe(200);
      expect(page.text).toContain('Continue as ada?');
      const field = (n: string) => new RegExp(`name="${n}" value="([^"]+)"`).exec(page.text)![1]!;
      const o = await get(
        'proxy',
        '/claimgate/sso/confirm',
        { cookie: planted, 'content-type': 'application/x-www-form-urlencoded' },
        'POST',
        new URLSearchParams({ pending: field('pending'), csrf_token: field('csrf_token') }).toString(),
      );
      const fresh = cookieOf(o.headers['set-cookie'] as string[]);
      expect(fresh).not.toBe(planted);
      expect((await get('proxy', '/claimgate/me', { cookie: planted })).status).toBe(401);
      const me = await call(`${gws.proxy.url}/claimgate/me`, { headers: { cookie: fresh } });
      expect(me.json().user.usercode).toBe('ada');
      return o;
    },
    status: 303,
    code: null,
    writes: { sessions: 2 },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Multi-`@` e-mail claims (an app or rule checking "ends with @corp" would be fooled)
const emailRows: Row[] = ['mallory@evil.example@example.test', 'mallory@example.test@evil.example', '"a@b"@example.test'].map((email, i): Row => ({
  name: `e-mail claim ${JSON.stringify(email)} is never stored or forwarded`,
  run: async () => {
    const o = await get('proxy', `/claimgate/sso?jwt=${await idToken({ sub: `u-mal${i}`, preferred_username: `mallory${i}`, email })}`);
    const user = await gws.proxy.running.gateway.parts.users.getByUsercode(`mallory${i}`);
    expect(user!.email ?? null).toBeNull();
    await get('proxy', '/x', { cookie: cookieOf(o.headers['set-cookie'] as string[]) });
    expect(lastSeen('proxy').headers['x-claimgate-email']).toBeUndefined();
    return o;
  },
  status: 303,
  code: null,
  writes: { users: 1, sessions: 1 },
  reaches: 1,
}));

// ---------------------------------------------------------------------------------------------------------------
// Route rules bypassed by spelling (Spring/Tomcat/Jetty ACL bypasses, Apache CVE-2021-41773, nginx merge_slashes)
const forbidden = (path: string, status = 403, code = 'route_forbidden'): Row => ({
  name: `route rule /admin/* holds for ${JSON.stringify(path)}`,
  run: async () => {
    const before = seenCount('proxy');
    const r = await rawRequest(gws.proxy.url, 'GET', path, [['Cookie', cookies.bob], ['Accept', 'application/json']]);
    expect(seenCount('proxy')).toBe(before);
    return { status: r.status, headers: {}, text: r.body, code: codeOf(r.body) };
  },
  status,
  code,
});
const routeRows: Row[] = [
  forbidden('/admin/x'),
  forbidden('/ADMIN/x'),
  forbidden('/Admin/X'),
  forbidden('//admin/x'),
  forbidden('/./admin/x'),
  forbidden('/a/../admin/x'),
  forbidden('/assets/../admin/x'),
  forbidden('/admin;x'),
  forbidden('/admin;jsessionid=1/x'),
  forbidden('/admin/x?'),
  forbidden('/admin/x?/assets/a'),
  forbidden('/admin/x#/assets/a'),
  forbidden('/admin'),
  forbidden('/admin/'),
  forbidden('/%61dmin/x'),
  forbidden('/admin%2Fx', 400, 'path_invalid'),
  forbidden('/assets/..%2Fadmin/x', 400, 'path_invalid'),
  forbidden('/assets/%2e%2e/admin/x', 400, 'path_invalid'),
  forbidden('/assets/..;/admin/x', 400, 'path_invalid'),
  forbidden('/assets%5C..%5Cadmin/x', 400, 'path_invalid'),
  forbidden('/assets/%252e%252e/admin/x', 400, 'path_invalid'),
  forbidden('/assets\\..\\admin/x', 400, 'path_invalid'),
  forbidden('http://gateway.test/admin/x', 400, 'path_invalid'),
  {
    name: 'a query carrying /admin does not make a path an /admin path: /x?/admin/x is an ordinary signed-in page',
    reaches: 1,
    run: async () => get('proxy', '/x?/admin/x', { cookie: cookies.bob }),
    status: 200,
    code: null,
    then: () => expect(lastSeen('proxy').url).toBe('/x?/admin/x'),
  },
  {
    name: 'a query carrying /assets does not make a protected page public',
    run: async () => get('proxy', '/x?/assets/a', {}),
    status: 401,
    code: 'unauthenticated',
  },
  {
    name: 'control: an admin passes /admin/x',
    reaches: 1,
    run: async () => get('proxy', '/admin/x', { cookie: cookies.ada }),
    status: 200,
    code: null,
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Local JWT validation (CVE-2015-9235 alg confusion, CVE-2018-0114 embedded jwk, jku/x5u SSRF, missing checks)
const jwtCases: { name: string; token: () => Promise<string>; code: string }[] = [
  { name: 'no aud', token: () => shaped({ aud: undefined }), code: 'audience_mismatch' },
  { name: 'wrong aud', token: () => shaped({ aud: 'another-app' }), code: 'audience_mismatch' },
  { name: 'no iss', token: () => shaped({ iss: undefined }), code: 'token_malformed' },
  { name: 'an untrusted iss', token: () => shaped({ iss: 'https://evil.example' }), code: 'issuer_unknown' },
  { name: 'no exp', token: () => shaped({}, { noExp: true }), code: 'token_malformed' },
  { name: 'alg none', token: async () => unsignedToken({ iss: ISS, aud: 'claimgate', sub: 'u-ada', jti: randomUUID() }, now()), code: 'algorithm_not_allowed' },
  { name: 'HS256 signed with the RSA public key', token: async () => hsWithPem, code: 'algorithm_not_allowed' },
  { name: 'jku header to attacker keys', token: () => shaped({}, { key: attacker, header: { jku: 'https://evil.example/jwks' } }), code: 'token_malformed' },
  { name: 'x5u header to an attacker certificate', token: () => shaped({}, { key: attacker, header: { x5u: 'https://evil.example/c.pem' } }), code: 'token_malformed' },
  { name: 'embedded jwk header', token: () => shaped({}, { key: attacker, kid: null, header: { jwk: attacker.publicJwk } }), code: 'token_malformed' },
  {
    name: 'unknown crit',
    token: () => shaped({}, { header: { crit: ['urn:example:ext'], 'urn:example:ext': true }, crit: { 'urn:example:ext': true } }),
    code: 'token_malformed',
  },
  { name: 'signed by an attacker key with the trusted kid', token: () => shaped({}, { key: attacker }), code: 'signature_invalid' },
];
const jwtRows: Row[] = jwtCases.flatMap(({ name, token, code }): Row[] => [
  { name: `/sso refuses a JWT with ${name}`, run: async () => get('proxy', `/claimgate/sso?jwt=${await token()}`), status: 401, code },
  {
    name: `a bearer JWT with ${name} on an app path`,
    run: async () => {
      const before = seenCount('proxy');
      const o = await get('proxy', '/x', bearer(await token()));
      expect(seenCount('proxy')).toBe(before);
      return o;
    },
    status: 401,
    code,
  },
]);

// ---------------------------------------------------------------------------------------------------------------
// Metrics, admin, SCIM and sync reachable without credentials or with the wrong scope
const syncBody = JSON.stringify({ usercode: 'intruder', email: 'intruder@example.test', roles: ['admin'] });
const scimBody = JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'intruder2', active: true });
const apiRows: Row[] = [
  { name: 'metrics without credentials', run: () => get('proxy', '/claimgate/metrics'), status: 401, code: 'unauthenticated' },
  { name: 'metrics with admin:read', run: () => get('proxy', '/claimgate/metrics', bearer(creds.adminRead)), status: 403, code: 'insufficient_scope' },
  { name: 'metrics with a user session', run: () => get('proxy', '/claimgate/metrics', { cookie: cookies.ada }), status: 401, code: 'unauthenticated' },
  { name: 'admin without credentials', run: () => get('proxy', '/claimgate/admin/v1/users'), status: 401, code: 'unauthenticated' },
  { name: 'admin with metrics:read', run: () => get('proxy', '/claimgate/admin/v1/users', bearer(creds.metrics)), status: 403, code: 'insufficient_scope' },
  { name: 'admin with scim', run: () => get('proxy', '/claimgate/admin/v1/users', bearer(creds.scim)), status: 403, code: 'insufficient_scope' },
  { name: 'admin with an admin user\'s session', run: () => get('proxy', '/claimgate/admin/v1/users', { cookie: cookies.ada }), status: 401, code: 'unauthenticated' },
  {
    name: 'admin with an admin user\'s IdP token',
    run: async () => get('proxy', '/claimgate/admin/v1/users', bearer(await gws.proxy.token({}, { noJti: true }))),
    status: 401,
    code: 'invalid_token',
  },
  {
    name: 'admin write (suspend) with admin:read',
    run: async () => {
      const ada = await gws.proxy.running.gateway.parts.users.getByUsercode('ada');
      const o = await get('proxy', `/claimgate/admin/v1/users/${ada!.id}`, { ...bearer(creds.adminRead), 'content-type': 'application/json' }, 'PATCH', JSON.stringify({ lifecycle: 'SUSPENDED' }));
      expect((await gws.proxy.running.gateway.parts.users.getById(ada!.id))!.lifecycle).toBe('ACTIVE');
      return o;
    },
    status: 403,
    code: 'insufficient_scope',
  },
  { name: 'SCIM without credentials', run: () => get('proxy', '/claimgate/scim/v2/Users'), status: 401, code: null },
  { name: 'SCIM with admin:write', run: () => get('proxy', '/claimgate/scim/v2/Users', bearer(creds.adminWrite)), status: 403, code: null },
  {
    name: 'SCIM create with users:sync',
    run: () => get('proxy', '/claimgate/scim/v2/Users', { ...bearer(creds.sync), 'content-type': 'application/scim+json' }, 'POST', scimBody),
    status: 403,
    code: null,
  },
  {
    name: 'SCIM create without credentials',
    run: () => get('proxy', '/claimgate/scim/v2/Users', { 'content-type': 'application/scim+json' }, 'POST', scimBody),
    status: 401,
    code: null,
  },
  {
    name: 'sync without credentials',
    run: () => get('proxy', '/claimgate/api/v1/users/sync', { 'content-type': 'application/json' }, 'POST', syncBody),
    status: 401,
    code: 'unauthenticated',
  },
  {
    name: 'sync with scim',
    run: () => get('proxy', '/claimgate/api/v1/users/sync', { ...bearer(creds.scim), 'content-type': 'application/json' }, 'POST', syncBody),
    status: 403,
    code: 'insufficient_scope',
  },
  {
    name: 'sync with admin:write',
    run: () => get('proxy', '/claimgate/api/v1/users/sync', { ...bearer(creds.adminWrite), 'content-type': 'application/json' }, 'POST', syncBody),
    status: 403,
    code: 'insufficient_scope',
  },
  {
    name: 'sync with a user session',
    run: () => get('proxy', '/claimgate/api/v1/users/sync', { cookie: cookies.ada, 'content-type': 'application/json' }, 'POST', syncBody),
    status: 401,
    code: 'unauthenticated',
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Crafted cookies never crash the parser; the process keeps serving
const validAda = () => cookies.ada.split('=').slice(1).join('=');
const cookieRow = (name: string, values: () => (string | Buffer)[], status: number, code: string | null = 'unauthenticated', target = '/x'): Row => ({
  name: `cookie: ${name}`,
  run: async () => {
    const r = await rawRequest(gws.proxy.url, 'GET', target, [...values().map((v): [string, string | Buffer] => ['Cookie', v]), ['Accept', 'application/json']]);
    expect((await call(`${gws.proxy.url}/claimgate/health/live`)).status).toBe(200);
    return { status: r.status, headers: {}, text: r.body, code: codeOf(r.body) };
  },
  status,
  code,
  reaches: status === 200 ? 1 : 0,
});
const cookieRows: Row[] = [
  cookieRow('a 12 KB session value', () => [`claimgate_session=${'a'.repeat(12_000)}`], 401),
  // Node's parser refuses it before any gateway code runs (HPE_HEADER_OVERFLOW answers 400 with the raw parser).
  cookieRow('a 64 KB header (over Node\'s header limit)', () => [`claimgate_session=${'a'.repeat(64_000)}`], 400, null),
  cookieRow('high bytes and invalid UTF-8', () => [Buffer.concat([Buffer.from('claimgate_session='), Buffer.from([0x80, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80])])], 401),
  cookieRow('control characters (refused by the HTTP parser)', () => [Buffer.concat([Buffer.from('claimgate_session=a'), Buffer.from([0x01, 0x7f, 0x00])])], 400, null),
  cookieRow('binary bytes in the name', () => [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('=1; claimgate_session=x')])], 401),
  cookieRow('2,000 cookies', () => [Array.from({ length: 2000 }, (_, i) => `c${i}=${i}`).join('; ')], 401),
  cookieRow('percent-garbage', () => ['claimgate_session=%E0%A4%A; claimgate_session=%; =; ;;; =x'], 401),
  cookieRow('quoted, with a valid value inside quotes', () => [`claimgate_session="${'x'.repeat(10)}"`], 401),
  cookieRow('duplicate names: a forged one first, the valid one after (cookie tossing)', () => [`claimgate_session=forged.AAAA; claimgate_session=${validAda()}`], 401),
  cookieRow('duplicate names in two Cookie headers', () => ['claimgate_session=forged.AAAA', `claimgate_session=${validAda()}`], 401),
  cookieRow('__proto__ and constructor as names', () => [`__proto__=1; constructor=2; hasOwnProperty=3; claimgate_session=${validAda()}`], 200, null),
  cookieRow('a valid session cookie behind 500 others', () => [`${Array.from({ length: 500 }, (_, i) => `c${i}=${i}`).join('; ')}; claimgate_session=${validAda()}`], 200, null),
  cookieRow('on a gateway route (/me) too', () => [Buffer.concat([Buffer.from('claimgate_session='), Buffer.alloc(3000, 0xe9)])], 401, 'unauthenticated', '/claimgate/me'),
];

// ---------------------------------------------------------------------------------------------------------------
// Path look-alikes: an app that drops trailing dots or spaces (IIS, ASP.NET, Windows paths) or folds Unicode (NFKC)
// serves the protected page under a name the rules did not match
const lookalike = (path: string, rule = '/admin/*'): Row => ({
  name: `route rule ${rule} holds for the look-alike ${JSON.stringify(path)} (400 path_invalid)`,
  run: async () => {
    const r = await rawRequest(gws.proxy.url, 'GET', path, [['Cookie', cookies.bob], ['Accept', 'application/json']]);
    return { status: r.status, headers: {}, text: r.body, code: codeOf(r.body) };
  },
  status: 400,
  code: 'path_invalid',
});
const lookalikeRows: Row[] = [
  ...['/admin./x', '/admin../x', '/admin%20/x', '/admin%EF%BC%8Fx', '/admin%EF%BC%BCx', '/admin%E2%88%95x', '/admin%E2%81%84x', '/admin%C2%A0/x', '/admin%2e/x'].map((p) => lookalike(p)),
  ...['/reports.', '/reports%2e', '/reports%20', '/reports./', '/reports%E3%80%80'].map((p) => lookalike(p, '/reports')),
  {
    name: 'a full-width spelling of /admin is governed by /admin/* (the rules compare the NFKC form)',
    run: async () => get('proxy', '/%EF%BD%81%EF%BD%84%EF%BD%8D%EF%BD%89%EF%BD%8E/x', { cookie: cookies.bob }),
    status: 403,
    code: 'route_forbidden',
  },
  {
    name: 'a WebSocket upgrade to /admin./ws is refused before the app (no 101)',
    run: async () => {
      const r = await rawRequest(gws.proxy.url, 'GET', '/admin./ws', [
        ['Cookie', cookies.bob],
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Version', '13'],
        ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ]);
      return { status: r.status, headers: {}, text: r.head, code: /^HTTP\/1\.1 \d{3} (\w+)/.exec(r.head)?.[1] };
    },
    status: 400,
    code: 'path_invalid',
  },
  ...['/admin./x', '/admin%EF%BC%8Fx', '/reports%20'].map((uri): Row => ({
    name: `forward-auth: X-Original-URI ${uri} from a trusted proxy is refused (403 path_invalid), never allowed`,
    gw: 'trusting',
    run: async () => get('trusting', '/claimgate/auth', { cookie: cookies.trustingBob, 'x-original-uri': uri }),
    status: 403,
    code: 'path_invalid',
    then: (o) => expect(o.headers['x-claimgate-user']).toBeUndefined(),
  })),
  {
    name: 'control: forward-auth with a plain X-Original-URI from a trusted proxy answers the identity',
    gw: 'trusting',
    run: async () => get('trusting', '/claimgate/auth', { cookie: cookies.trustingBob, 'x-original-uri': '/dash/1' }),
    status: 200,
    code: null,
    then: (o) => expect(o.headers['x-claimgate-user']).toBe('bob'),
  },
  {
    name: 'control: a segment with an inner dot or space still passes (/files/a.b%20c)',
    run: async () => get('proxy', '/files/a.b%20c', { cookie: cookies.bob }),
    status: 200,
    code: null,
    reaches: 1,
    then: () => expect(lastSeen('proxy').url).toBe('/files/a.b%20c'),
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Method and URL override headers: a rule checked on GET /exports/1 must not become DELETE /exports/1 at the app
const OVERRIDES: Record<string, string> = {
  'X-HTTP-Method-Override': 'DELETE',
  'X-HTTP-Method': 'DELETE',
  'X-Method-Override': 'DELETE',
  'X-Original-URL': '/admin/x',
  'X-Rewrite-URL': '/admin/x',
};
const overrideRows: Row[] = [
  ...Object.entries(OVERRIDES).map(([name, value]): Row => ({
    name: `${name}: ${value} never reaches the app`,
    run: async () => get('proxy', '/exports/1', { cookie: cookies.bob, [name]: value }),
    status: 200,
    code: null,
    reaches: 1,
    then: () => {
      expect(lastSeen('proxy')).toMatchObject({ method: 'GET', url: '/exports/1' });
      expect(lastSeen('proxy').headers[name.toLowerCase()]).toBeUndefined();
      expect(lastSeen('proxy').headers['x-claimgate-user']).toBe('bob');
    },
  })),
  {
    name: 'all of them at once, in odd case, on a WebSocket-free POST',
    run: async () =>
      get('proxy', '/exports/1', { cookie: cookies.bob, 'x-http-method-OVERRIDE': 'DELETE', 'X-Method-Override': 'PUT', 'content-type': 'text/plain' }, 'POST', 'x'),
    status: 200,
    code: null,
    reaches: 1,
    then: () => {
      const seen = lastSeen('proxy');
      expect(seen.method).toBe('POST');
      expect(Object.keys(seen.headers).filter((h) => /override|x-http-method|rewrite-url|original-url/.test(h))).toEqual([]);
    },
  },
  {
    name: 'control: the rule itself still holds for a real DELETE',
    run: async () => get('proxy', '/exports/1', { cookie: cookies.bob }, 'DELETE'),
    status: 403,
    code: 'route_forbidden',
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Expect: 100-continue (curl sends it for bodies over 1 KB): undici refuses to forward it, which made a 502
const expectRows: Row[] = [
  {
    name: 'a 2 MB upload with Expect: 100-continue reaches the app whole',
    run: async () => {
      const r = await postExpectingContinue(gws.proxy.url, '/upload', Buffer.alloc(2 * 1024 * 1024, 1), { cookie: cookies.ada, 'content-type': 'application/octet-stream' });
      expect(r.continued).toBe(true);
      return { status: r.status, headers: {}, text: r.text, code: codeOf(r.text) };
    },
    status: 200,
    code: null,
    reaches: 1,
    then: () => {
      expect(lastSeen('proxy')).toMatchObject({ method: 'POST', url: '/upload', bytes: 2 * 1024 * 1024 });
      expect(lastSeen('proxy').headers.expect).toBeUndefined();
    },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Slow requests and floods: a drip-fed body on a gateway endpoint, and the sign-in limit per IPv6 /64
const slowRows: Row[] = [
  {
    name: 'a token request whose body drips in gets 408 once limits.gatewayBodyTimeoutSeconds (2 s here) has passed',
    run: async () => {
      const r = await slowRequest(gws.proxy.url, '/claimgate/oauth/token', {
        length: 100_000,
        drip: 1000,
        everyMs: 250,
        headers: ['Content-Type: application/x-www-form-urlencoded', 'Accept: application/json'],
      });
      expect(r.closedAfterMs).toBeLessThan(5000);
      const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
      return { status: r.status, headers: {}, text: body, code: codeOf(body) };
    },
    status: 408,
    code: 'request_timeout',
  },
  {
    name: 'sign-in attempts from many addresses of one IPv6 /64 share one limit (the fifth is 429)',
    gw: 'trusting',
    run: async () => {
      const from = (i: number) => get('trusting', '/claimgate/sso?jwt=not-a-token', { 'x-forwarded-for': `2001:db8:77:1:${i.toString(16)}::${i + 1}` });
      const first: number[] = [];
      for (let i = 0; i < 4; i++) first.push((await from(i)).status);
      expect(new Set(first).size).toBe(1);
      expect(first[0]).not.toBe(429);
      const other = await get('trusting', '/claimgate/sso?jwt=not-a-token', { 'x-forwarded-for': '2001:db8:77:2::1' });
      expect(other.status).not.toBe(429);
      return from(99);
    },
    status: 429,
    code: 'rate_limited',
  },
  {
    name: 'a client over the sign-in limit stays blocked while 100,000 other addresses fill the limiter',
    gw: 'trusting',
    run: async () => {
      const attacker = { 'x-forwarded-for': '198.51.100.7' };
      for (let i = 0; i < 4; i++) expect((await get('trusting', '/claimgate/sso?jwt=not-a-token', attacker)).status).not.toBe(429);
      expect((await get('trusting', '/claimgate/sso?jwt=not-a-token', attacker)).status).toBe(429);
      // The flood: one sign-in attempt from each of 100,000 other addresses (the table's size), counted straight
      // into the gateway's own sign-in limiter, as its /sso route counts them.
      const limiter = (gws.trusting.running.gateway.parts.rateLimits as unknown as { limiters: { sso: RateLimiter } }).limiters.sso;
      for (let i = 0; i < 100_000; i++) limiter.hit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      expect(limiter.size).toBeLessThanOrEqual(100_000);
      return get('trusting', '/claimgate/sso?jwt=not-a-token', attacker);
    },
    status: 429,
    code: 'rate_limited',
  },
  {
    name: 'over the token limit, a request is refused before its body arrives (the body is never waited for)',
    gw: 'trusting',
    run: async () => {
      const from = 'X-Forwarded-For: 192.0.2.15';
      const form = { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '192.0.2.15' };
      for (let i = 0; i < 3; i++) {
        const r = await get('trusting', '/claimgate/oauth/token', form, 'POST', 'grant_type=client_credentials&client_id=x&client_secret=y');
        expect(r.status).toBe(401);
      }
      // Headers only: 100 bytes announced, none sent. Counted after the body, this would wait for the deadline (408).
      const r = await slowRequest(gws.trusting.url, '/claimgate/oauth/token', {
        length: 100,
        drip: 0,
        everyMs: 1000,
        headers: ['Content-Type: application/x-www-form-urlencoded', from],
      });
      expect(r.sent).toBe(0);
      expect(r.text.toLowerCase()).toContain('connection: close');
      const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
      return { status: r.status, headers: {}, text: body, code: codeOf(body) };
    },
    status: 429,
    code: 'slow_down',
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Sign-in: transaction cookies piling up (a page driving /login), and login CSRF through a sign-in link
const signInRows: Row[] = [
  {
    name: 'fourteen /login navigations with a 1,500-character return_to: the browser can still sign in',
    gw: 'oidc',
    run: async () => {
      const jar = new CookieJar();
      const long = `/dash?${'q'.repeat(1500)}`;
      for (let i = 0; i < 14; i++) {
        const r = await browse(jar, `${gws.oidc.url}/claimgate/login?issuer=idp&return_to=${encodeURIComponent(long)}`);
        expect(r.status).toBe(302);
      }
      expect(jar.names(gws.oidc.url).filter((n) => n.includes('_tx_')).length).toBeLessThanOrEqual(3);
      const { callbackUrl } = await startLogin(gws.oidc, jar, 'ada', long);
      expect(jar.header(gws.oidc.url)!.length).toBeLessThan(12_000);
      const done = await browse(jar, callbackUrl);
      expect(done.headers.location).toBe(long);
      return { ...done, code: codeOf(done.text) };
    },
    status: 303,
    code: null,
    writes: { sessions: 1 },
  },
  {
    name: 'login CSRF: another account\'s sign-in link opened in a signed-in browser switches nothing, it asks',
    run: async () => {
      const link = await idToken({ sub: 'u-bob', preferred_username: 'bob', groups: ['bi-analysts'] });
      const o = await get('proxy', `/claimgate/sso?jwt=${link}`, { cookie: cookies.ada, accept: 'text/html' });
      expect(o.headers['set-cookie']).toBeUndefined();
      expect(o.text).toMatch(/Continue as bob\?.*You are signed in as <strong>ada<\/strong>/s);
      expect((await call(`${gws.proxy.url}/claimgate/me`, { headers: { cookie: cookies.ada } })).json().user.usercode).toBe('ada');
      // The link is spent: the attacker cannot reuse it either.
      expect((await get('proxy', `/claimgate/sso?jwt=${link}`)).code).toBe('jti_replayed');
      return o;
    },
    status: 200,
    code: null,
  },
  {
    name: 'login CSRF by a cross-site form post (no Lax cookie on it): turned into the GET, which asks',
    run: async () => {
      const link = await idToken({ sub: 'u-bob', preferred_username: 'bob', groups: ['bi-analysts'] });
      const post = await get(
        'proxy',
        '/claimgate/sso',
        { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        'POST',
        new URLSearchParams({ jwt: link }).toString(),
      );
      expect(post.status).toBe(303);
      expect(post.headers['set-cookie']).toBeUndefined();
      return get('proxy', String(post.headers.location), { cookie: cookies.ada, accept: 'text/html' });
    },
    status: 200,
    code: null,
    then: async (o) => {
      expect(o.text).toContain('Continue as bob?');
      expect((await call(`${gws.proxy.url}/claimgate/me`, { headers: { cookie: cookies.ada } })).json().user.usercode).toBe('ada');
    },
  },
  {
    name: 'login CSRF: a cross-site POST to /sso/confirm without the page\'s token is refused',
    run: async () =>
      get('proxy', '/claimgate/sso/confirm', { cookie: cookies.ada, 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' }, 'POST', 'pending=x.y.z&csrf_token=forged'),
    status: 403,
    code: 'csrf_failed',
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Scopes: a scope implied by what a credential holds is grantable (a subset of what it holds, as OAuth intends)
const scopeRows: Row[] = [
  {
    name: 'an admin:write client asking /oauth/token for scope=admin:read gets it, and the token only reads',
    run: async () => {
      const o = await get(
        'proxy',
        '/claimgate/oauth/token',
        { 'content-type': 'application/x-www-form-urlencoded' },
        'POST',
        new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin:read', client_id: writerClient.id, client_secret: writerClient.secret }).toString(),
      );
      const token = (JSON.parse(o.text) as { access_token: string; scope: string });
      expect(token.scope).toBe('admin:read');
      expect((await get('proxy', '/claimgate/admin/v1/users', bearer(token.access_token))).status).toBe(200);
      const ada = await gws.proxy.running.gateway.parts.users.getByUsercode('ada');
      const write = await get('proxy', `/claimgate/admin/v1/users/${ada!.id}`, { ...bearer(token.access_token), 'content-type': 'application/json' }, 'PATCH', JSON.stringify({ lifecycle: 'SUSPENDED' }));
      expect(write.code).toBe('insufficient_scope');
      return o;
    },
    status: 200,
    code: null,
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Clickjacking and MIME sniffing: what the gateway renders cannot be framed or sniffed; the app's answers are its own
const framed = (name: string, path: string, headers: Record<string, string>, status: number, code: string | null, gw: Gw = 'proxy'): Row => ({
  name: `${name}: frame-ancestors 'none', X-Frame-Options DENY, nosniff`,
  gw,
  run: () => get(gw, path, headers),
  status,
  code,
  then: (o) => {
    expect(o.headers['content-security-policy']).toBe("frame-ancestors 'none'");
    expect(o.headers['x-frame-options']).toBe('DENY');
    expect(o.headers['x-content-type-options']).toBe('nosniff');
  },
});
const framingRows: Row[] = [
  framed('the sign-in chooser', '/claimgate/login', { accept: 'text/html' }, 200, null),
  framed('the sign-out page', '/claimgate/logout', { accept: 'text/html' }, 200, null),
  framed('an HTML error page of /sso', '/claimgate/sso?jwt=x', { accept: 'text/html' }, 401, null),
  framed('a problem document of /me', '/claimgate/me', {}, 401, 'unauthenticated'),
  framed('a refusal on an app path', '/admin/x', {}, 401, 'unauthenticated'),
  framed('the OIDC signed-out page', '/claimgate/signed-out', { accept: 'text/html' }, 200, null, 'oidc'),
  framed('forward-auth /auth', '/claimgate/auth', {}, 401, 'unauthenticated', 'forward'),
  {
    name: 'the app\'s own answer is passed through without the gateway\'s framing headers',
    run: () => get('proxy', '/dash', { cookie: cookies.ada }),
    status: 200,
    code: null,
    reaches: 1,
    then: (o) => {
      expect(o.headers['x-app']).toBe('echo');
      expect(o.headers['content-security-policy']).toBeUndefined();
      expect(o.headers['x-frame-options']).toBeUndefined();
    },
  },
];

const table: [string, Row[]][] = [
  ['open redirects', redirectRows],
  ['identity-header smuggling', smuggleRows],
  ['X-Forwarded-Uri spoofing', spoofRows],
  ['session fixation', fixationRows],
  ['multi-@ e-mail', emailRows],
  ['route-rule bypasses', routeRows],
  ['local JWT validation', jwtRows],
  ['credentials and scopes', apiRows],
  ['crafted cookies', cookieRows],
  ['path look-alikes', lookalikeRows],
  ['method and URL overrides', overrideRows],
  ['Expect: 100-continue', expectRows],
  ['slow requests and floods', slowRows],
  ['sign-in cookies and login CSRF', signInRows],
  ['implied scopes', scopeRows],
  ['framing and sniffing', framingRows],
];

describe(`security regressions (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  describe.each(table)('%s', (_group, rows) => {
    it.each(rows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
      const gw = row.gw ?? 'proxy';
      const before = await counts(gw);
      const seenBefore = seenCount(gw);
      const o = await row.run();
      expect({ status: o.status, code: o.code ?? null }).toEqual({ status: row.status, code: row.code });
      await row.then?.(o);
      const after = await counts(gw);
      expect({
        users: after.users - before.users,
        sessions: after.sessions - before.sessions,
        appReceived: seenCount(gw) - seenBefore,
      }).toEqual({
        users: row.writes?.users ?? 0,
        sessions: row.writes?.sessions ?? 0,
        appReceived: row.reaches ?? 0,
      });
    });
  });

  it('across every row, the apps never received a client-sent identity header', () => {
    // The proxied rows above reached the app (each says how often), so this loop has requests to look at.
    expect(gws.proxy.app.seen.length).toBeGreaterThan(20);
    for (const g of ['proxy', 'down'] as const) for (const s of gws[g].app.seen) appSawNoSmuggledHeader(s.headers);
  });

  it('the gateways still serve after every row', async () => {
    for (const g of Object.values(gws)) expect((await call(`${g.url}/claimgate/health/live`)).status).toBe(200);
  });
});
