/**
 * Security regression suite (docs/security-model.md): one row per known failure of comparable gateways (oauth2-proxy,
 * mod_auth_openidc, Pomerium, Grafana JWT auth…). Every row states the status, the error code where the
 * endpoint has one, and how many users and sessions it may write (none, unless the row is a legitimate sign-in
 * whose redirect target or cookie is what is under test). Rows run over real HTTP against real gateways.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportSPKI } from 'jose';
import { isClaimgateHeader } from '../../src/forwarding/identity-headers.js';
import { call, cookieOf, ISS, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeKeyPair, signToken, unsignedToken, type KeyPair } from '../helpers/tokens.js';
import { rawRequest } from '../helpers/raw-http.js';
import { CookieJar, browse, type TestProvider } from '../helpers/oidc-provider.js';
import { startLogin, startOidcGateway } from '../helpers/oidc-setup.js';
import type { Scope } from '../../src/credentials/index.js';

type Gw = 'proxy' | 'down' | 'forward' | 'oidc';

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
const cookies = {} as { ada: string; bob: string; downAda: string; fwdBob: string; oidcWarm: boolean };
const creds = {} as Record<'adminRead' | 'adminWrite' | 'metrics' | 'scim' | 'sync', string>;
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
  gws.proxy = await startTestGateway();
  gws.down = await startTestGateway({ upstream: { url: 'http://127.0.0.1:9', timeoutSeconds: 2 } });
  gws.forward = await startTestGateway({ upstream: { url: 'http://127.0.0.1:9', mode: 'forward-auth' } });
  ({ idp, gw: gws.oidc } = await startOidcGateway());
  const signIn = async (gw: Gw, claims: Record<string, unknown>) => {
    const r = await call(`${gws[gw].url}/claimgate/sso?jwt=${await idToken(claims, gw)}`);
    if (r.status !== 303) throw new Error(`sign-in failed: ${r.status} ${r.text}`);
    return cookieOf(r.headers['set-cookie']);
  };
  cookies.ada = await signIn('proxy', {});
  cookies.bob = await signIn('proxy', { sub: 'u-bob', preferred_username: 'bob', email: 'bob@example.test', groups: ['bi-analysts'] });
  cookies.downAda = await signIn('down', {});
  cookies.fwdBob = await signIn('forward', { sub: 'u-bob', preferred_username: 'bob', groups: ['bi-analysts'] });
  // ada exists on the OIDC gateway too, so its redirect rows add a session only.
  const jar = new CookieJar();
  await browse(jar, (await startLogin(gws.oidc, jar, 'ada')).callbackUrl);
  const make = async (name: string, scopes: Scope[]) => (await gws.proxy.running.gateway.ctx.credentials.store.create({ name, scopes })).token;
  creds.adminRead = await make('auditor', ['admin:read']);
  creds.adminWrite = await make('platform', ['admin:write']);
  creds.metrics = await make('prometheus', ['metrics:read']);
  creds.scim = await make('entra', ['scim']);
  creds.sync = await make('hr-sync', ['users:sync']);
  hsWithPem = await signToken(
    { iss: ISS, aud: 'claimgate', sub: 'u-ada', jti: randomUUID() },
    { key: new TextEncoder().encode(await exportSPKI(gws.proxy.key.publicKey)), alg: 'HS256', kid: gws.proxy.key.kid, now: now() },
  );
  attacker = await makeKeyPair('RS256', gws.proxy.key.kid);
});

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
    run: async () => get('proxy', '/assets/app.js', SMUGGLE),
    status: 200,
    code: null,
    then: () => noIdentityAtAll(lastSeen('proxy').headers),
  },
  {
    name: 'a public route with a session: still no identity header',
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
      const o = await get('proxy', `/claimgate/sso?jwt=${await idToken()}`, { cookie: planted });
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
    const user = await gws.proxy.running.gateway.ctx.users.getByUsercode(`mallory${i}`);
    expect(user!.email ?? null).toBeNull();
    await get('proxy', '/x', { cookie: cookieOf(o.headers['set-cookie'] as string[]) });
    expect(lastSeen('proxy').headers['x-claimgate-email']).toBeUndefined();
    return o;
  },
  status: 303,
  code: null,
  writes: { users: 1, sessions: 1 },
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
      const ada = await gws.proxy.running.gateway.ctx.users.getByUsercode('ada');
      const o = await get('proxy', `/claimgate/admin/v1/users/${ada!.id}`, { ...bearer(creds.adminRead), 'content-type': 'application/json' }, 'PATCH', JSON.stringify({ lifecycle: 'SUSPENDED' }));
      expect((await gws.proxy.running.gateway.ctx.users.getById(ada!.id))!.lifecycle).toBe('ACTIVE');
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
];

describe(`security regressions (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  describe.each(table)('%s', (_group, rows) => {
    it.each(rows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
      const gw = row.gw ?? 'proxy';
      const before = await counts(gw);
      const o = await row.run();
      expect({ status: o.status, code: o.code ?? null }).toEqual({ status: row.status, code: row.code });
      await row.then?.(o);
      const after = await counts(gw);
      expect({ users: after.users - before.users, sessions: after.sessions - before.sessions }).toEqual({
        users: row.writes?.users ?? 0,
        sessions: row.writes?.sessions ?? 0,
      });
    });
  });

  it('across every row, the apps never received a client-sent identity header', () => {
    for (const g of ['proxy', 'down'] as const) for (const s of gws[g].app.seen) appSawNoSmuggledHeader(s.headers);
  });

  it('the gateways still serve after every row', async () => {
    for (const g of Object.values(gws)) expect((await call(`${g.url}/claimgate/health/live`)).status).toBe(200);
  });
});
