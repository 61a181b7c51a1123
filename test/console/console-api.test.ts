import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { call } from '../helpers/gateway.js';
import { startAdminGateway, type AdminGateway } from '../admin/helpers.js';

const ORIGIN = 'http://gateway.test';

/**
 * The console's server side over plain HTTP: who gets the page, which admin scopes a session's roles give, the
 * CSRF rule for changes made with the cookie, and who the audit trail names.
 */
describe('console: sign-in rules, session scopes and CSRF', () => {
  let gw: AdminGateway;
  let admin: string;
  let analyst: string;
  let viewer: string;
  beforeAll(async () => {
    gw = await startAdminGateway({ console: { enabled: true, readRoles: ['analyst'], writeRoles: ['admin'] } });
    admin = await gw.login();
    analyst = await gw.login({ sub: 'u-bob', preferred_username: 'bob', email: 'bob@example.test', groups: ['bi-analysts'] });
    viewer = await gw.login({ sub: 'u-eve', preferred_username: 'eve', email: 'eve@example.test', groups: [] });
  }, 30_000);
  afterAll(async () => {
    await gw?.close();
  });

  const page = (path: string, cookie?: string) =>
    call(`${gw.url}/claimgate/console${path}`, { headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });
  const me = async (cookie: string) => (await call(`${gw.url}/claimgate/me`, { headers: { cookie } })).json();
  const session = (method: string, path: string, cookie: string, headers: Record<string, string> = {}, body?: unknown) =>
    call(`${gw.url}/claimgate/admin/v1${path}`, {
      method,
      headers: { cookie, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('sends a browser without a session to sign in and back, for the start page and every deep link', async () => {
    for (const path of ['/', '/mappings/corp', '/users', '/users/01ABC']) {
      const r = await page(path);
      expect(r.status).toBe(302);
      const location = new URL(String(r.headers.location), ORIGIN);
      expect(location.pathname).toBe('/claimgate/login');
      expect(location.searchParams.get('return_to')).toBe(`/claimgate/console${path}`);
    }
  });

  it('serves the console shell to a console user, with a strict CSP and no external resources', async () => {
    for (const path of ['/', '/mappings/corp', '/users', '/users/01ABC', '']) {
      const r = await page(path, admin);
      expect(r.status).toBe(200);
      expect(String(r.headers['content-type'])).toContain('text/html');
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.text).not.toMatch(/<script>|https?:\/\//);
      const script = /<script type="module" src="([^"]+)"/.exec(r.text)![1]!;
      const js = await call(`${gw.url}${script}`);
      expect(js.status).toBe(200);
      expect(String(js.headers['content-type'])).toContain('text/javascript');
      expect(String(js.headers['cache-control'])).toContain('immutable');
    }
    expect((await page('/', analyst)).status).toBe(200);
  });

  it('answers a signed-in user without a console role 403 with a page that says so', async () => {
    const r = await page('/mappings/corp', viewer);
    expect(r.status).toBe(403);
    expect(r.text).toContain('not allowed');
    expect(r.text).toContain('eve');
    expect(r.text.match(/<h1[ >]/g)).toHaveLength(1);
  });

  it('sends no-framing and no-sniffing headers with every console answer: the shell, the 403 page, the sign-in redirect and the files', async () => {
    const shell = await page('/users', admin);
    const script = /<script type="module" src="([^"]+)"/.exec(shell.text)![1]!;
    const style = /<link rel="stylesheet" href="([^"]+)"/.exec(shell.text)![1]!;
    const answers = [shell, await page('/users', viewer), await page('/users'), await call(`${gw.url}${script}`), await call(`${gw.url}${style}`)];
    expect(answers.map((r) => r.status)).toEqual([200, 403, 302, 200, 200]);
    for (const r of answers) {
      expect(String(r.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    // The pages load nothing from another host and run no inline script: the policy allows neither.
    const csp = String(shell.headers['content-security-policy']);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).not.toMatch(/https?:|\*|unsafe-|nonce-|data:[^;]*script/);
    expect(shell.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(shell.text).not.toMatch(/\son[a-z]+=|style=/);
  });

  it('/me tells the console its scopes and a CSRF token bound to the session', async () => {
    const a = await me(admin);
    expect(a.adminScopes).toEqual(['admin:read', 'admin:write']);
    expect(a.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const b = await me(analyst);
    expect(b.adminScopes).toEqual(['admin:read']);
    expect(b.csrfToken).not.toBe(a.csrfToken);
    expect((await me(viewer)).adminScopes).toEqual([]);
    // A new sign-in of the same person is a new session, with another token.
    const again = await gw.login();
    expect((await me(again)).csrfToken).not.toBe(a.csrfToken);
  });

  it('gives read roles admin:read and write roles admin:write through the cookie; others nothing', async () => {
    expect((await session('GET', '/users', admin)).status).toBe(200);
    expect((await session('GET', '/mappings', analyst)).status).toBe(200);
    const v = await session('GET', '/users', viewer);
    expect(v.status).toBe(403);
    expect(v.json().code).toBe('insufficient_scope');
    const token = (await me(analyst)).csrfToken as string;
    const w = await session('PUT', '/mappings/corp', analyst, { origin: ORIGIN, 'x-csrf-token': token }, { user: { usercode: 'sub' } });
    expect(w.status).toBe(403);
    expect(w.json().code).toBe('insufficient_scope');
    // Bearer credentials keep working beside the console.
    expect((await gw.api('GET', '/users')).status).toBe(200);
  });

  it('refuses a change made with the cookie without the same origin and the session’s token (403 csrf_failed), and writes nothing', async () => {
    const token = (await me(admin)).csrfToken as string;
    const other = (await me(analyst)).csrfToken as string;
    const draft = { user: { usercode: 'preferred_username' }, roles: [{ default: ['x'] }] };
    const before = (await gw.api('GET', '/mappings/corp/versions')).json().items.length;
    const attempts: { headers: Record<string, string>; body?: string; type?: string }[] = [
      { headers: {} },
      { headers: { origin: ORIGIN } },
      { headers: { 'x-csrf-token': token } },
      { headers: { origin: 'https://evil.test', 'x-csrf-token': token } },
      { headers: { origin: 'null', 'x-csrf-token': token } },
      { headers: { referer: 'https://evil.test/page', 'x-csrf-token': token } },
      { headers: { origin: ORIGIN, 'x-csrf-token': other } },
      { headers: { origin: ORIGIN, 'x-csrf-token': 'A'.repeat(43) } },
    ];
    for (const a of attempts) {
      const r = await session('PUT', '/mappings/corp', admin, a.headers, draft);
      expect([r.status, r.json().code]).toEqual([403, 'csrf_failed']);
    }
    // A cross-site HTML form: no custom header possible, the browser's Origin is the other site.
    const form = await call(`${gw.url}/claimgate/admin/v1/users/${encodeURIComponent('x')}/sessions`, {
      method: 'DELETE',
      headers: { cookie: admin, origin: 'https://evil.test', 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect([form.status, form.json().code]).toEqual([403, 'csrf_failed']);
    const post = await call(`${gw.url}/claimgate/admin/v1/mappings/corp/rollback`, {
      method: 'POST',
      headers: { cookie: admin, origin: 'https://evil.test', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'version=1',
    });
    expect([post.status, post.json().code]).toEqual([403, 'csrf_failed']);
    expect((await gw.api('GET', '/mappings/corp/versions')).json().items.length).toBe(before);
    // Referer stands in for a missing Origin.
    const ok = await session('PUT', '/mappings/corp', admin, { referer: `${ORIGIN}/claimgate/console/mappings/corp`, 'x-csrf-token': token }, draft);
    expect(ok.status).toBe(200);
  });

  it('attributes changes made in the console to the person, and credentials still to the credential', async () => {
    const token = (await me(admin)).csrfToken as string;
    const doc = { user: { usercode: 'preferred_username' }, roles: [{ default: ['y'] }] };
    const r = await session('PUT', '/mappings/corp', admin, { origin: ORIGIN, 'x-csrf-token': token }, doc);
    expect(r.status).toBe(200);
    const versions = (await gw.api('GET', '/mappings/corp/versions')).json().items;
    expect(versions[0].createdBy).toBe('user:ada');
    const audit = (await gw.api('GET', '/audit?type=mapping_saved')).json().items;
    expect(audit[0].actor).toBe('user:ada');
    await gw.api('POST', '/mappings/corp/rollback', { body: { version: 1 } });
    expect((await gw.api('GET', '/mappings/corp/versions')).json().items[0].createdBy).toBe('admin:platform-team');
    // The request log names the console caller by a pseudonym, never by usercode or e-mail.
    const rows = (await gw.db.knex('request_logs').where({ kind: 'request', method: 'PUT' }).select('client')) as { client: string | null }[];
    const adminId = (await me(admin)).user.id as string;
    expect(rows.map((x) => x.client)).toContain(`console:${adminId}`);
    expect(rows.some((x) => /ada/.test(x.client ?? ''))).toBe(false);
    // Whoever may read the audit trail resolves the pseudonym of the save above to the person who made it.
    const saved = (await gw.db.knex('request_logs').where({ kind: 'request', method: 'PUT', status: 200 }).orderBy('id', 'desc').first()) as { client: string };
    const pseudonym = saved.client;
    expect(pseudonym).toMatch(/^console:/);
    const who = (await gw.api('GET', `/audit?user=${encodeURIComponent(pseudonym.slice('console:'.length))}&type=login`)).json().items as { userId: string; usercode: string }[];
    expect(who.length).toBeGreaterThanOrEqual(1);
    expect(new Set(who.map((e) => `${e.userId} ${e.usercode}`))).toEqual(new Set([`${adminId} ada`]));
  });

  it('validates YAML as the console types it, and serves mappings as YAML, recent logins and the overview', async () => {
    const token = (await me(admin)).csrfToken as string;
    const h = { origin: ORIGIN, 'x-csrf-token': token };
    const bad = (await session('POST', '/mappings/corp/validate', admin, h, { yaml: 'user:\n  usercode: "a ||"\nroles:\n  - from: groups\n' })).json();
    expect(bad.valid).toBe(false);
    expect(bad.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'user.usercode', line: 2 })]));
    const syntax = (await session('POST', '/mappings/corp/validate', admin, h, { yaml: 'user: [\n' })).json();
    expect(syntax.valid).toBe(false);
    expect(syntax.problems[0].path).toMatch(/^line \d+$/);
    expect(syntax.problems[0].line).toBeGreaterThanOrEqual(1);
    const deep = (await session('POST', '/mappings/corp/validate', admin, h, { yaml: 'user:\n  usercode: sub\nroles:\n  - from: groups\n    map: { a: b }\n  - from: groups\n    pattern: "(("\n    to: x\n' })).json();
    expect(deep.problems).toEqual([expect.objectContaining({ path: 'roles[1].pattern', line: 7 })]);
    const good = (await session('POST', '/mappings/corp/validate', admin, h, { yaml: 'user:\n  usercode: sub\n' })).json();
    expect(good).toEqual({ valid: true, problems: [], mapping: { user: { usercode: 'sub' } } });
    const yaml = (await session('GET', '/mappings/corp/yaml?version=file', admin)).json();
    expect(yaml.source).toBe('file');
    expect(yaml.yaml).toContain('usercode: preferred_username || sub');
    const recent = (await session('GET', '/mappings/corp/recent-logins?limit=5', admin)).json();
    expect(recent.items.map((i: { usercode: string }) => i.usercode)).toEqual(expect.arrayContaining(['ada', 'bob', 'eve']));
    expect(recent.items[0].claims.iss).toBe('https://idp.example.test');
    // The user search finds people by their IdP identifiers too.
    expect((await gw.api('PATCH', '/users/bob', { body: { idpWorkforceId: 'WF-778812' } })).status).toBe(200);
    const found = (await session('GET', '/users?q=wf-7788', admin)).json();
    expect(found.items.map((u: { usercode: string }) => u.usercode)).toEqual(['bob']);
    const overview = (await session('GET', '/overview', admin)).json();
    expect(overview.issuers[0]).toMatchObject({ id: 'corp', mapping: 'corp', keys: { kind: 'configured keys', keyIds: ['k1'] } });
    expect(overview.activity.hours).toHaveLength(24);
    expect(overview.activity.hours.reduce((n: number, x: { signIns: number }) => n + x.signIns, 0)).toBeGreaterThanOrEqual(4);
    const openapi = (await call(`${gw.url}/claimgate/admin/v1/openapi.json`)).json();
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/overview', '/mappings/{name}/validate', '/mappings/{name}/yaml', '/mappings/{name}/recent-logins']));
  });
});

describe('console: the overview', () => {
  it('counts sign-ins and refusals of the last 24 hours per hour and refusals by code', async () => {
    const gw = await startAdminGateway({ console: { enabled: true, writeRoles: ['admin'] } });
    try {
      await gw.login();
      await gw.login({ sub: 'u-eve', preferred_username: 'eve', email: 'eve@example.test', groups: [] });
      expect((await gw.api('PATCH', '/users/eve', { body: { lifecycle: 'SUSPENDED' } })).status).toBe(200);
      await expect(gw.login({ sub: 'u-eve', preferred_username: 'eve', email: 'eve@example.test', groups: [] })).rejects.toThrow(/403/);
      const o = (await gw.api('GET', '/overview')).json();
      const sum = (k: 'signIns' | 'refusals') => o.activity.hours.reduce((n: number, x: Record<string, number>) => n + x[k]!, 0);
      expect([sum('signIns'), sum('refusals')]).toEqual([2, 1]);
      expect(o.activity.codes).toEqual({ user_suspended: 1 });
      expect(o.issuers[0]).toMatchObject({ mapping: 'corp', mappingVersion: null, mappingSource: 'file' });
    } finally {
      await gw.close();
    }
  });
});

describe('console: ending one session', () => {
  it('ends exactly the session named by its ref, at once; the ref is neither the cookie nor the stored hash', async () => {
    const gw = await startAdminGateway({ console: { enabled: true, writeRoles: ['admin'] } });
    try {
      const cookies = [await gw.login(), await gw.login()];
      const list = (await gw.api('GET', '/users/ada/sessions')).json().items as { ref: string }[];
      expect(list).toHaveLength(2);
      const stored = ((await gw.db.knex('sessions').select('id_hash')) as { id_hash: string }[]).map((x) => x.id_hash);
      for (const s of list) {
        expect(stored).not.toContain(s.ref);
        for (const c of cookies) expect(c).not.toContain(s.ref);
      }
      const alive = async () => Promise.all(cookies.map(async (cookie) => (await call(`${gw.url}/claimgate/me`, { headers: { cookie } })).status));
      expect(await alive()).toEqual([200, 200]);
      expect((await gw.api('DELETE', `/users/ada/sessions/${'x'.repeat(22)}`)).status).toBe(404);
      expect((await gw.api('DELETE', `/users/ada/sessions/${list[0]!.ref}`, { token: gw.tokens.read })).status).toBe(403);
      expect((await gw.api('DELETE', `/users/ada/sessions/${list[0]!.ref}`)).status).toBe(204);
      expect((await alive()).sort()).toEqual([200, 401]);
      expect((await gw.api('GET', '/users/ada/sessions')).json().items.map((x: { ref: string }) => x.ref)).toEqual([list[1]!.ref]);
    } finally {
      await gw.close();
    }
  });
});

describe('console: off by default', () => {
  it('has no console and gives sessions no admin scope', async () => {
    const gw = await startAdminGateway();
    try {
      const cookie = await gw.login();
      expect((await call(`${gw.url}/claimgate/console/`, { headers: { cookie, accept: 'text/html' } })).status).toBe(404);
      expect((await call(`${gw.url}/claimgate/admin/v1/users`, { headers: { cookie } })).status).toBe(401);
      const me = (await call(`${gw.url}/claimgate/me`, { headers: { cookie } })).json();
      expect(me.adminScopes).toBeUndefined();
      expect(me.csrfToken).toBeUndefined();
    } finally {
      await gw.close();
    }
  });
});
