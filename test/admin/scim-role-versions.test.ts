import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeIfPostgres } from '../helpers/db.js';
import { call, startAnotherInstance, type OtherInstance } from '../helpers/gateway.js';
import { ACROSS_PROCESSES_MS } from '../helpers/wait.js';
import { eventually, startAdminGateway, type AdminGateway } from './helpers.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const FILE_RULES = {
  groupRoles: { 'BI Admins': 'admin' },
  allowedRoles: ['admin', 'analyst', 'exporter', 'viewer'],
  userRoles: [{ from: 'roles[].value', map: { 'App.Analyst': 'analyst' } }],
};

async function start(): Promise<AdminGateway> {
  return startAdminGateway({ provisioning: { scim: FILE_RULES }, console: { enabled: true, readRoles: ['analyst'], writeRoles: ['admin'] } });
}

const scimCall = (url: string, token: string, method: string, path: string, body?: unknown) =>
  call(`${url}/claimgate/scim/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/**
 * The SCIM role rules stored through the admin API: versions, rollback, back to the file, validation, scopes; the
 * SCIM service grants by the rules in force at each write.
 */
describe(`SCIM role rules: versions through the admin API (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let a: AdminGateway;
  let userId: string;
  beforeAll(async () => {
    a = await start();
    const r = await scimCall(a.url, a.tokens.scim, 'POST', '/Users', {
      schemas: [USER],
      userName: 'rita@corp.test',
      active: true,
      roles: [{ type: 'WindowsAzureActiveDirectoryRole', value: 'App.Analyst' }, { value: 'App.Exporter' }],
    });
    expect(r.status).toBe(201);
    userId = r.json().id as string;
  });
  afterAll(async () => {
    await a?.close();
  });

  const roles = async () => (await a.running.gateway.parts.users.getById(userId))!.roles.map((r) => `${r.name}:${r.source}`).sort();
  const touch = async (value: string) => {
    const r = await scimCall(a.url, a.tokens.scim, 'PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value }] });
    expect(r.status).toBe(200);
  };

  it('GET answers the file rules, version null, before anything is stored', async () => {
    const r = await a.api('GET', '/provisioning/scim-roles', { token: a.tokens.read });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ version: null, source: 'file', groupRoles: FILE_RULES.groupRoles, userRoles: [{ from: 'roles[].value' }] });
    expect(await roles()).toEqual(['analyst:scim']);
  });

  it('PUT writes version 1; the next SCIM write of the user grants by it; audited with the actor', async () => {
    const rules = { groupRoles: {}, userRoles: [{ from: 'roles[].value', map: { 'App.Analyst': 'analyst', 'App.Exporter': 'exporter' } }] };
    const r = await a.api('PUT', '/provisioning/scim-roles', { body: rules });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ version: 1, source: 'database', ...rules });
    expect((await a.api('GET', '/provisioning/scim-roles', { token: a.tokens.read })).json()).toMatchObject({ version: 1, source: 'database', userRoles: rules.userRoles });
    await touch('Rita 1');
    expect(await roles()).toEqual(['analyst:scim', 'exporter:scim']);
    const audit = await a.db.knex('audit_events').where({ type: 'scim_roles_saved' }).select('actor', 'detail');
    expect(audit).toHaveLength(1);
    expect(audit[0].actor).toBe('admin:platform-team');
  });

  it('a second version, the versions list, and rollback to version 1 (a new version 3)', async () => {
    const r = await a.api('PUT', '/provisioning/scim-roles', { body: { userRoles: [{ default: ['viewer'] }] } });
    expect(r.json().version).toBe(2);
    await touch('Rita 2');
    expect(await roles()).toEqual(['viewer:scim']);

    const list = await a.api('GET', '/provisioning/scim-roles/versions', { token: a.tokens.read });
    expect(list.status).toBe(200);
    expect(list.json().items.map((v: { version: number; active: boolean; createdBy: string }) => [v.version, v.active, v.createdBy])).toEqual([
      [2, true, 'admin:platform-team'],
      [1, false, 'admin:platform-team'],
    ]);

    const rb = await a.api('POST', '/provisioning/scim-roles/rollback', { body: { version: 1 } });
    expect(rb.status).toBe(200);
    expect(rb.json()).toMatchObject({ version: 3, rolledBackFrom: 1, source: 'database' });
    await touch('Rita 3');
    expect(await roles()).toEqual(['analyst:scim', 'exporter:scim']);
    const rolled = await a.db.knex('audit_events').where({ type: 'scim_roles_rolled_back' }).select('actor');
    expect(rolled).toEqual([{ actor: 'admin:platform-team' }]);
    expect((await a.api('POST', '/provisioning/scim-roles/rollback', { body: { version: 99 } })).json().code).toBe('version_not_found');
  });

  it('the OpenAPI document declares every call with its request body', async () => {
    const doc = (await call(`${a.url}/claimgate/admin/v1/openapi.json`)).json();
    const p = doc.paths['/provisioning/scim-roles'];
    expect(Object.keys(p).sort()).toEqual(['delete', 'get', 'put']);
    expect(p.put.requestBody).toBeDefined();
    expect(doc.paths['/provisioning/scim-roles/versions'].get).toBeDefined();
    expect(doc.paths['/provisioning/scim-roles/rollback'].post.requestBody).toBeDefined();
  });

  it('stored rules never show up as a mapping', async () => {
    const r = await a.api('GET', '/mappings', { token: a.tokens.read });
    expect(r.json().items.map((m: { name: string }) => m.name)).toEqual(['corp']);
  });

  it('preview runs an unsaved draft without storing it', async () => {
    const r = await a.api('POST', '/provisioning/scim-roles/preview', {
      token: a.tokens.read,
      body: { resource: { userName: 'x', roles: [{ value: 'App.Analyst' }] }, groups: ['Team X'], groupRoles: { 'team x': 'viewer' }, userRoles: [] },
    });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ roles: ['viewer'], fromGroups: ['viewer'], fromUser: [] });
    // The rules in force are still version 3.
    const inForce = await a.api('POST', '/provisioning/scim-roles/preview', { token: a.tokens.read, body: { resource: { userName: 'x', roles: [{ value: 'App.Analyst' }] } } });
    expect(inForce.json().roles).toEqual(['analyst']);
    // A stored user, by usercode, through a draft: its kept resource (App.Analyst, App.Exporter) and its groups.
    const group = await scimCall(a.url, a.tokens.scim, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Team Y', members: [{ value: userId }] });
    expect(group.status).toBe(201);
    const byUser = await a.api('POST', '/provisioning/scim-roles/preview', {
      token: a.tokens.read,
      body: { user: 'rita@corp.test', groupRoles: { 'Team Y': 'viewer' }, userRoles: [{ from: 'roles[].value', map: { 'App.Exporter': 'exporter' } }] },
    });
    expect(byUser.status).toBe(200);
    expect(byUser.json()).toMatchObject({ roles: ['viewer', 'exporter'], fromGroups: ['viewer'], fromUser: ['exporter'] });
    expect((await a.api('POST', '/provisioning/scim-roles/preview', { token: a.tokens.read, body: { user: 'nobody' } })).status).toBe(404);
    expect((await a.api('POST', '/provisioning/scim-roles/preview', { token: a.tokens.read, body: {} })).status).toBe(400);
    expect(await roles()).toEqual(['analyst:scim', 'exporter:scim']);
    expect((await a.api('GET', '/provisioning/scim-roles/versions', { token: a.tokens.read })).json().items).toHaveLength(3);
  });

  it('invalid rules answer 400 with the path of every problem; nothing is stored', async () => {
    const r = await a.api('PUT', '/provisioning/scim-roles', {
      body: { groupRoles: { 'BI Admins': 7 }, userRoles: [{ from: 'roles[.value', map: { a: 'b' } }] },
    });
    expect(r.status).toBe(400);
    const paths = (r.json().problems as { path: string }[]).map((p) => p.path);
    expect(paths.some((p) => p.startsWith('groupRoles'))).toBe(true);
    const compile = await a.api('PUT', '/provisioning/scim-roles', { body: { userRoles: [{ from: 'roles[.value', map: { a: 'b' } }] } });
    expect(compile.status).toBe(400);
    expect(compile.json().code).toBe('scim_roles_invalid');
    expect((compile.json().problems as { path: string }[]).map((p) => p.path)).toContain('userRoles[0].from');
    expect((await a.api('GET', '/provisioning/scim-roles/versions', { token: a.tokens.read })).json().items).toHaveLength(3);
  });

  it('a change made in the console names the person as createdBy and in the audit trail', async () => {
    const cookie = await a.login();
    const csrf = (await call(`${a.url}/claimgate/me`, { headers: { cookie } })).json().csrfToken as string;
    const r = await call(`${a.url}/claimgate/admin/v1/provisioning/scim-roles`, {
      method: 'PUT',
      headers: { cookie, origin: 'http://gateway.test', 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ userRoles: [{ from: 'roles[].value', map: { 'App.Analyst': 'analyst', 'App.Exporter': 'exporter' } }] }),
    });
    expect(r.status).toBe(200);
    expect(r.json().version).toBe(4);
    const versions = (await a.api('GET', '/provisioning/scim-roles/versions', { token: a.tokens.read })).json().items;
    expect(versions[0]).toMatchObject({ version: 4, active: true, createdBy: 'user:ada' });
    const audit = await a.db.knex('audit_events').where({ type: 'scim_roles_saved' }).orderBy('at', 'desc').select('actor');
    expect(audit[0]).toEqual({ actor: 'user:ada' });
  });

  it("a stored version's groupRoles grant to the members of a group at their next write", async () => {
    // Rita has been a member of "Team Y" since the preview test.
    const r = await a.api('PUT', '/provisioning/scim-roles', { body: { groupRoles: { 'team y': ['viewer', 'admin'] } } });
    expect(r.status).toBe(200);
    await touch('Rita 5');
    expect(await roles()).toEqual(['admin:scim', 'viewer:scim']);
  });

  it('admin:read cannot change the rules', async () => {
    expect((await a.api('PUT', '/provisioning/scim-roles', { token: a.tokens.read, body: { userRoles: [] } })).status).toBe(403);
    expect((await a.api('POST', '/provisioning/scim-roles/rollback', { token: a.tokens.read, body: { version: 1 } })).status).toBe(403);
    expect((await a.api('DELETE', '/provisioning/scim-roles', { token: a.tokens.read })).status).toBe(403);
  });

  it("DELETE goes back to the file's rules; a second DELETE answers 404", async () => {
    expect((await a.api('DELETE', '/provisioning/scim-roles')).status).toBe(204);
    expect((await a.api('GET', '/provisioning/scim-roles', { token: a.tokens.read })).json()).toMatchObject({ version: null, source: 'file' });
    await touch('Rita 4');
    expect(await roles()).toEqual(['analyst:scim']);
    const again = await a.api('DELETE', '/provisioning/scim-roles');
    expect(again.status).toBe(404);
    expect(again.json().code).toBe('scim_roles_not_stored');
  });
});

describeIfPostgres('SCIM role rules across two running instances', () => {
  let a: AdminGateway;
  let b: OtherInstance;
  beforeAll(async () => {
    a = await start();
    b = await startAnotherInstance(a);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('rules saved on A govern the next SCIM write on B', async () => {
    const created = await scimCall(b.url, a.tokens.scim, 'POST', '/Users', { schemas: [USER], userName: 'otto@corp.test', roles: [{ value: 'App.Analyst' }] });
    expect(created.status).toBe(201);
    const id = created.json().id as string;
    const rolesOnB = async (n: number) => {
      await scimCall(b.url, a.tokens.scim, 'PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value: `Otto ${n}` }] });
      return (await b.server.gateway.parts.users.getById(id))!.roles.map((r) => r.name).sort().join(',');
    };
    expect(await rolesOnB(0)).toBe('analyst');

    expect((await a.api('PUT', '/provisioning/scim-roles', { body: { userRoles: [{ default: ['viewer'] }] } })).status).toBe(200);
    let n = 1;
    await eventually(ACROSS_PROCESSES_MS, async () => (await rolesOnB(n++)) === 'viewer');

    // An instance started while a version is in force loads it.
    const c = await startAnotherInstance(a);
    try {
      const late = await scimCall(c.url, a.tokens.scim, 'PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value: 'Otto late' }] });
      expect(late.status).toBe(200);
      expect((await c.server.gateway.parts.users.getById(id))!.roles.map((r) => r.name)).toEqual(['viewer']);
    } finally {
      await c.close();
    }

    expect((await a.api('DELETE', '/provisioning/scim-roles')).status).toBe(204);
    await eventually(ACROSS_PROCESSES_MS, async () => (await rolesOnB(n++)) === 'analyst');
  });
});
