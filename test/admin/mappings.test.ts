import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_MAPPING, call } from '../helpers/gateway.js';
import { rowCounts, startAdminGateway, type AdminGateway } from './helpers.js';

const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

/** The default mapping with bi-analysts mapped to `analyst_v2` and a finance role: a visible change. */
const CHANGED = {
  ...DEFAULT_MAPPING,
  roles: [{ from: 'groups', map: { 'bi-admins': 'admin', 'bi-analysts': 'analyst_v2' } }, { when: "contains(groups || `[]`, 'finance')", add: ['finance'] }, { default: ['viewer'] }],
};

describe(`admin API: mappings (${db})`, () => {
  let gw: AdminGateway;
  beforeAll(async () => {
    gw = await startAdminGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  const rolesOf = async (usercode: string) =>
    ((await gw.api('GET', `/users/${usercode}`)).json().roles as { name: string; source: string }[]).map((r) => `${r.name}@${r.source}`);

  it('lists and gets the file mapping', async () => {
    const listed = await gw.api('GET', '/mappings', { token: gw.tokens.read });
    expect(listed.status).toBe(200);
    expect(listed.json()).toEqual({
      items: [{ name: 'corp', version: null, source: 'file', hasFileMapping: true, overridesFile: false, issuers: ['corp'] }],
      nextCursor: null,
    });
    const got = (await gw.api('GET', '/mappings/corp', { token: gw.tokens.read })).json();
    expect(got).toMatchObject({ name: 'corp', version: null, source: 'file', mapping: { user: { usercode: 'preferred_username || sub' } } });
    expect((await gw.api('GET', '/mappings/nope')).json()).toMatchObject({ status: 404, code: 'mapping_not_found' });
  });

  it('a PUT saves version 1 and the next login uses it; an invalid PUT lists every problem and changes nothing', async () => {
    await gw.login({ preferred_username: 'bob', sub: 'u-bob', groups: ['bi-analysts', 'finance'] });
    expect(await rolesOf('bob')).toEqual(['analyst@mapping:corp']);

    const put = await gw.api('PUT', '/mappings/corp', { body: CHANGED });
    expect(put.status).toBe(200);
    expect(put.json()).toEqual({ name: 'corp', version: 1, overridesFile: true, mapping: CHANGED });
    await gw.login({ preferred_username: 'bob', sub: 'u-bob', groups: ['bi-analysts', 'finance'] });
    expect(await rolesOf('bob')).toEqual(['analyst_v2@mapping:corp', 'finance@mapping:corp']);

    const bad = await gw.api('PUT', '/mappings/corp', {
      body: { user: { usercode: 'sub' }, roles: [{ from: 'groups[', map: {} }, { from: 'groups', pattern: '(' }], colour: 'red' },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    const problem = bad.json();
    expect(problem.code).toBe('mapping_invalid');
    const paths = (problem.problems as { path: string }[]).map((p) => p.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['roles[0].from', 'roles[1].pattern']));
    expect(paths.some((p) => p === '(root)' || p.includes('colour'))).toBe(true);
    // The version in force is still 1.
    expect((await gw.api('GET', '/mappings/corp')).json()).toMatchObject({ version: 1, source: 'database' });
    await gw.login({ preferred_username: 'bob', sub: 'u-bob', groups: ['bi-analysts', 'finance'] });
    expect(await rolesOf('bob')).toEqual(['analyst_v2@mapping:corp', 'finance@mapping:corp']);
  });

  it('versions, rollback (a new version equal to the old one) and DELETE back to the file mapping', async () => {
    const v2 = await gw.api('PUT', '/mappings/corp', { body: { ...CHANGED, roles: [{ default: ['nobody'] }] } });
    expect(v2.json().version).toBe(2);
    await gw.login({ preferred_username: 'bob', sub: 'u-bob', groups: ['bi-analysts'] });
    expect(await rolesOf('bob')).toEqual(['nobody@mapping:corp']);

    const rb = await gw.api('POST', '/mappings/corp/rollback', { body: { version: 1 } });
    expect(rb.status).toBe(200);
    expect(rb.json()).toEqual({ name: 'corp', version: 3, overridesFile: true, mapping: CHANGED, rolledBackFrom: 1 });
    await gw.login({ preferred_username: 'bob', sub: 'u-bob', groups: ['bi-analysts'] });
    expect(await rolesOf('bob')).toEqual(['analyst_v2@mapping:corp']);

    const versions = (await gw.api('GET', '/mappings/corp/versions', { token: gw.tokens.read })).json();
    expect(versions.items.map((v: { version: number; active: boolean; rolledBackFrom: number | null; createdBy: string }) => [v.version, v.active, v.rolledBackFrom, v.createdBy])).toEqual([
      [3, true, 1, 'admin:platform-team'],
      [2, false, null, 'admin:platform-team'],
      [1, false, null, 'admin:platform-team'],
    ]);
    expect((await gw.api('POST', '/mappings/corp/rollback', { body: { version: 9 } })).json().code).toBe('version_not_found');

    expect((await gw.api('DELETE', '/mappings/corp')).status).toBe(204);
    expect((await gw.api('GET', '/mappings/corp')).json()).toMatchObject({ version: null, source: 'file' });
    await gw.login({ preferred_username: 'bob', sub: 'u-bob', groups: ['bi-analysts'] });
    expect(await rolesOf('bob')).toEqual(['analyst@mapping:corp']);
    expect((await gw.api('DELETE', '/mappings/corp')).json().code).toBe('mapping_not_stored');
    // History stays; the next save continues the numbering.
    expect((await gw.api('PUT', '/mappings/corp', { body: CHANGED })).json().version).toBe(4);
    expect((await gw.api('DELETE', '/mappings/corp')).status).toBe(204);

    const audit = (await gw.api('GET', '/audit?type=mapping_saved,mapping_rollback,mapping_reset')).json();
    expect(audit.items.map((e: { type: string; detail: { version?: number } }) => `${e.type}:${e.detail.version ?? '-'}`)).toEqual([
      'mapping_reset:-',
      'mapping_saved:4',
      'mapping_reset:-',
      'mapping_rollback:3',
      'mapping_saved:2',
      'mapping_saved:1',
    ]);
  });

  it('preview with a token or claims, against the mapping in force or a draft, and writes nothing', async () => {
    await gw.login({ preferred_username: 'cara', sub: 'u-cara', groups: ['bi-analysts'] });
    const before = await rowCounts(gw);
    const token = await gw.token({ preferred_username: 'cara', sub: 'u-cara', groups: ['bi-admins'] });

    const p = await gw.api('POST', '/mappings/corp/preview', { token: gw.tokens.read, body: { token } });
    expect(p.status).toBe(200);
    const body = p.json();
    expect(body).toMatchObject({ allowed: true, issuer: 'corp', mapping: { name: 'corp', version: null, source: 'file' } });
    expect(body.desired).toMatchObject({ usercode: 'cara', roles: ['admin'] });
    expect(body.current).toMatchObject({ usercode: 'cara', roles: [{ name: 'analyst', source: 'mapping:corp' }] });
    expect(body.diff.roles).toMatchObject({ added: ['admin'], removed: ['analyst'], kept: [] });
    expect(body.producedBy.roles).toEqual({ admin: ['roles[0]'] });
    expect(body.trace.length).toBeGreaterThan(0);

    // The token's jti was not consumed: the same link still signs in afterwards.
    const stillUsable = await call(`${gw.url}/claimgate/sso?jwt=${token}`);
    expect(stillUsable.status).toBe(303);
    const afterLogin = await rowCounts(gw);

    const draft = await gw.api('POST', '/mappings/corp/preview', {
      body: { claims: { sub: 'u-dan', preferred_username: 'dan', groups: ['finance', 'bi-analysts'] }, mapping: CHANGED },
    });
    expect(draft.json()).toMatchObject({
      mapping: { source: 'draft', version: null },
      current: null,
      desired: { usercode: 'dan', roles: ['analyst_v2', 'finance'] },
      diff: { create: true, roles: { added: ['analyst_v2', 'finance'] } },
    });
    const denied = await gw.api('POST', '/mappings/corp/preview', { body: { claims: { sub: 'x', email_verified: false } } });
    expect(denied.json()).toMatchObject({ allowed: false, denied: { code: 'login_denied', rule: 'require[0]' }, diff: null });

    const invalidDraft = await gw.api('POST', '/mappings/corp/preview', { body: { claims: { sub: 'x' }, mapping: { user: {} } } });
    expect(invalidDraft.status).toBe(400);
    expect(invalidDraft.json().problems[0].path).toBe('mapping.user.usercode');
    const both = await gw.api('POST', '/mappings/corp/preview', { body: { claims: { sub: 'x' }, token } });
    expect(both.json()).toMatchObject({ status: 400, code: 'invalid_request' });
    const forged = await gw.api('POST', '/mappings/corp/preview', { body: { token: `${token.slice(0, -4)}AAAA` } });
    expect(forged.json()).toMatchObject({ status: 401, code: 'signature_invalid' });

    const after = await rowCounts(gw);
    expect(after).toEqual(afterLogin);
    expect(afterLogin.sessions).toBe(before.sessions + 1);
  });

  it('preview-recent replays the last logins and reports who gains and loses which role, writing nothing', async () => {
    await gw.login({ preferred_username: 'erin', sub: 'u-erin', groups: ['bi-analysts'] });
    await gw.login({ preferred_username: 'finn', sub: 'u-finn', groups: ['bi-admins', 'finance'] });
    await gw.login({ preferred_username: 'gus', sub: 'u-gus', groups: [] });
    const before = await rowCounts(gw);
    const r = await gw.api('POST', '/mappings/corp/preview-recent', { token: gw.tokens.read, body: { mapping: CHANGED, limit: 3 } });
    expect(r.status).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ issuers: ['corp'], logins: 3, users: 3, changedUsers: 2 });
    const byUser = Object.fromEntries(body.items.map((i: { usercode: string }) => [i.usercode, i]));
    expect(byUser.erin.roles).toEqual({ gained: ['analyst_v2'], lost: ['analyst'] });
    expect(byUser.finn.roles).toEqual({ gained: ['finance'], lost: [] });
    expect(byUser.gus).toMatchObject({ changed: false, roles: { gained: [], lost: [] } });
    expect(body.summary.roles).toEqual({ analyst_v2: { gained: ['erin'], lost: [] }, analyst: { gained: [], lost: ['erin'] }, finance: { gained: ['finn'], lost: [] } });

    // A draft that denies unverified e-mail addresses: access lost is reported too.
    const strict = await gw.api('POST', '/mappings/corp/preview-recent', {
      body: { mapping: { ...DEFAULT_MAPPING, match: "preferred_username != 'gus'" }, limit: 3 },
    });
    expect(strict.json().items.find((i: { usercode: string }) => i.usercode === 'gus')).toMatchObject({ access: 'lost', roles: { lost: ['viewer'] } });
    // Losing the role a route rule needs keeps sign-in access, and shows per route rule.
    const noAdmin = await gw.api('POST', '/mappings/corp/preview-recent', {
      body: { mapping: { ...DEFAULT_MAPPING, roles: [{ from: 'groups', map: { 'bi-admins': 'superuser' } }, { default: ['viewer'] }] }, limit: 3 },
    });
    const finn = noAdmin.json().items.find((i: { usercode: string }) => i.usercode === 'finn');
    expect(finn).toMatchObject({ access: 'unchanged', changed: true, routes: { gained: [], lost: ['/admin/*'] } });
    expect(noAdmin.json().summary.routes).toEqual({ '/admin/*': { gained: [], lost: ['finn'] } });
    expect(await rowCounts(gw)).toEqual(before);
    expect((await gw.api('POST', '/mappings/corp/preview-recent', { body: { mapping: { roles: 'x' } } })).json().code).toBe('mapping_invalid');
  });

  it('needs admin:write to change and admin:read to look', async () => {
    expect((await gw.api('PUT', '/mappings/corp', { body: CHANGED, token: gw.tokens.read })).json()).toMatchObject({ status: 403, code: 'insufficient_scope' });
    expect((await gw.api('POST', '/mappings/corp/rollback', { body: { version: 1 }, token: gw.tokens.read })).status).toBe(403);
    expect((await gw.api('DELETE', '/mappings/corp', { token: gw.tokens.read })).status).toBe(403);
    expect((await gw.api('GET', '/mappings', { token: gw.tokens.scim })).status).toBe(403);
    const anon = await gw.api('GET', '/mappings', { token: null });
    expect(anon.status).toBe(401);
    expect(anon.headers['www-authenticate']).toBe('Bearer');
    const bad = await gw.api('GET', '/mappings', { token: 'cg_not-a-real-token-at-all' });
    expect(bad.json()).toMatchObject({ status: 401, title: 'Sign-in required', code: 'invalid_token' });
    expect(bad.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    const narrow = await gw.api('GET', '/mappings', { token: gw.tokens.scim });
    expect(narrow.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="admin:read"');
    expect((await gw.api('GET', '/mappings/corp')).json().version).toBeNull();
  });
});
