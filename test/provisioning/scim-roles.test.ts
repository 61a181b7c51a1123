import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call } from '../helpers/gateway.js';
import { ENTERPRISE, GROUP, patch, startScim, USER, type ScimClient } from './scim-helpers.js';

/**
 * provisioning.scim.userRoles: app-role assignments and entitlements as Entra and Okta send them grant roles with
 * source `scim`, within allowedRoles, following every later PUT and PATCH; the enterprise extension fills the
 * workforce id and attributes.
 */
describe(`SCIM user roles and enterprise fields (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let c: ScimClient;
  beforeAll(async () => {
    c = await startScim({
      provisioning: {
        scim: {
          groupRoles: { 'BI Admins': 'admin' },
          allowedRoles: ['admin', 'analyst', 'exporter', 'viewer', 'finance'],
          userRoles: [
            { from: 'roles[].value', map: { 'App.Analyst': 'analyst', 'App.Exporter': 'exporter', 'App.Root': 'superuser' } },
            { from: 'entitlements[].value', pattern: '^bi:(viewer|finance)$', to: '$1' },
            { when: `"${ENTERPRISE}".department == 'Finance'`, add: ['finance'] },
          ],
          enterprise: { costCenter: 'attributes.cost_center', division: null },
        },
      },
    });
  });
  afterAll(async () => {
    await c?.gw.close();
  });

  const user = (id: string) => c.gw.running.gateway.parts.users.getById(id);
  const roleNames = async (id: string) => (await user(id))!.roles.map((r) => `${r.name}:${r.source}`).sort();
  const attrs = async (id: string) =>
    ((await c.gw.db.knex('user_attributes').where({ user_id: id }).orderBy('name').select('name', 'values', 'source')) as { name: string; values: unknown; source: string }[]).map(
      (a) => ({ name: a.name, value: (typeof a.values === 'string' ? JSON.parse(a.values) : a.values) as string[], source: a.source }),
    );

  it('Entra: app roles (WindowsAzureActiveDirectoryRole) on create, then PATCH path "roles" add and remove', async () => {
    // Entra's provisioning service sends app-role assignments this way.
    const created = await c.scim('POST', '/Users', {
      schemas: [USER, ENTERPRISE],
      externalId: '7b0b6c3e-aad-oid',
      userName: 'ana.entra@corp.test',
      active: true,
      displayName: 'Ana Entra',
      emails: [{ primary: true, type: 'work', value: 'ana.entra@corp.test' }],
      roles: [{ primary: false, type: 'WindowsAzureActiveDirectoryRole', value: 'App.Analyst' }],
      [ENTERPRISE]: { employeeNumber: 'E-1001', department: 'Engineering', costCenter: 'CC-77', division: 'Ignored', manager: { value: 'boss-id-1' } },
    });
    expect(created.status).toBe(201);
    const id = created.json().id as string;
    expect(await roleNames(id)).toEqual(['analyst:scim']);
    expect(await user(id)).toMatchObject({ idpWorkforceId: 'E-1001' });
    expect(await attrs(id)).toEqual([
      { name: 'cost_center', value: ['CC-77'], source: 'scim' },
      { name: 'department', value: ['Engineering'], source: 'scim' },
      { name: 'manager', value: ['boss-id-1'], source: 'scim' },
    ]);

    // PATCH replacing the roles (Entra sends the whole list under path "roles").
    let r = await c.scim(
      'PATCH',
      `/Users/${id}`,
      patch({ op: 'Add', path: 'roles', value: [{ primary: false, type: 'WindowsAzureActiveDirectoryRole', value: 'App.Exporter' }] }),
    );
    expect(r.status).toBe(200);
    expect(await roleNames(id)).toEqual(['analyst:scim', 'exporter:scim']);
    // A role the rules map outside allowedRoles is never granted.
    r = await c.scim('PATCH', `/Users/${id}`, patch({ op: 'Add', path: 'roles', value: [{ type: 'WindowsAzureActiveDirectoryRole', value: 'App.Root' }] }));
    expect(r.status).toBe(200);
    expect(await roleNames(id)).toEqual(['analyst:scim', 'exporter:scim']);
    r = await c.scim('PATCH', `/Users/${id}`, patch({ op: 'Remove', path: 'roles[value eq "App.Analyst"]' }));
    expect(r.status).toBe(200);
    expect(await roleNames(id)).toEqual(['exporter:scim']);
    // The department moves to Finance: a `when` rule over the enterprise extension adds a role.
    r = await c.scim('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: `${ENTERPRISE}:department`, value: 'Finance' }));
    expect(r.status).toBe(200);
    expect(await roleNames(id)).toEqual(['exporter:scim', 'finance:scim']);
    expect((await attrs(id)).find((a) => a.name === 'department')!.value).toEqual(['Finance']);

    // Group roles and user roles add up, both with source scim.
    const g = await c.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'BI Admins', members: [{ value: id }] });
    expect(g.status).toBe(201);
    expect(await roleNames(id)).toEqual(['admin:scim', 'exporter:scim', 'finance:scim']);
    r = await c.scim('PATCH', `/Users/${id}`, patch({ op: 'Remove', path: 'roles' }));
    expect(await roleNames(id)).toEqual(['admin:scim', 'finance:scim']);
    // The audit trail says where each role came from.
    const audit = (await c.gw.db.knex('audit_events').where({ user_id: id, type: 'role_change' })) as { source: string }[];
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((a) => a.source === 'scim')).toBe(true);
  });

  it("Entra's other app-role mappings: SingleAppRoleAssignment (primary role) and AppRoleAssignmentsComplex's PATCH form", async () => {
    // SingleAppRoleAssignment → roles[primary eq "True"].value: one primary role on create, replaced by a filtered PATCH.
    const single = await c.scim('POST', '/Users', {
      schemas: [USER],
      externalId: 'aad-oid-single',
      userName: 'sia.single@corp.test',
      active: true,
      roles: [{ primary: true, type: 'WindowsAzureActiveDirectoryRole', value: 'App.Analyst' }],
    });
    expect(single.status).toBe(201);
    const sid = single.json().id as string;
    expect(await roleNames(sid)).toEqual(['analyst:scim']);
    let r = await c.scim('PATCH', `/Users/${sid}`, patch({ op: 'Replace', path: 'roles[primary eq "True"].value', value: 'App.Exporter' }));
    expect(r.status).toBe(200);
    expect(await roleNames(sid)).toEqual(['exporter:scim']);

    // AppRoleAssignmentsComplex: the POST carries role objects, but a later PATCH adds a role as JSON text in `value`.
    const multi = await c.scim('POST', '/Users', {
      schemas: [USER],
      externalId: 'aad-oid-multi',
      userName: 'max.multi@corp.test',
      active: true,
      roles: [{ primary: false, type: 'WindowsAzureActiveDirectoryRole', display: 'Analyst', value: 'App.Analyst' }],
    });
    expect(multi.status).toBe(201);
    const mid = multi.json().id as string;
    r = await c.scim(
      'PATCH',
      `/Users/${mid}`,
      patch({ op: 'Add', path: 'roles', value: [{ value: '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"App.Exporter","displayName":"Exporter"}' }] }),
    );
    expect(r.status).toBe(200);
    expect(r.json().roles).toEqual([
      { primary: false, type: 'WindowsAzureActiveDirectoryRole', display: 'Analyst', value: 'App.Analyst' },
      { value: 'App.Exporter', display: 'Exporter' },
    ]);
    expect(await roleNames(mid)).toEqual(['analyst:scim', 'exporter:scim']);
  });

  it('Okta: roles and entitlements on create, a PUT without them takes the roles away', async () => {
    // Okta sends app roles as `roles` with display/value (and entitlements the same way) in a full PUT.
    const body = {
      schemas: [USER],
      userName: 'omar.okta@corp.test',
      name: { givenName: 'Omar', familyName: 'Okta' },
      emails: [{ primary: true, value: 'omar.okta@corp.test', type: 'work' }],
      active: true,
      roles: [{ display: 'Analyst', value: 'App.Analyst' }],
      entitlements: [{ value: 'bi:viewer' }, { value: 'bi:other' }],
    };
    const created = await c.scim('POST', '/Users', body);
    expect(created.status).toBe(201);
    const id = created.json().id as string;
    expect(await roleNames(id)).toEqual(['analyst:scim', 'viewer:scim']);
    const { roles: _r, entitlements: _e, ...withoutRoles } = body;
    const put = await c.scim('PUT', `/Users/${id}`, { ...withoutRoles, id });
    expect(put.status).toBe(200);
    expect(await roleNames(id)).toEqual([]);
    const back = await c.scim('PUT', `/Users/${id}`, { ...body, id, entitlements: [{ value: 'bi:finance' }] });
    expect(back.status).toBe(200);
    expect(await roleNames(id)).toEqual(['analyst:scim', 'finance:scim']);
  });

  it('the admin API shows the rules and previews a resource without writing (OpenAPI documents both)', async () => {
    const { token } = await c.gw.running.gateway.parts.credentials.store.create({ name: 'roles-reader', scopes: ['admin:read'] });
    const admin = (method: string, path: string, body?: unknown) =>
      call(`${c.gw.url}/claimgate/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const shown = (await admin('GET', '/provisioning/scim-roles')).json();
    expect(shown.userRoles).toHaveLength(3);
    expect(shown.enterprise).toMatchObject({ employeeNumber: 'idpWorkforceId', costCenter: 'attributes.cost_center', division: null, department: 'attributes.department' });
    const before = await c.gw.db.knex('users').count({ n: '*' }).first();
    const preview = await admin('POST', '/provisioning/scim-roles/preview', {
      resource: {
        schemas: [USER, ENTERPRISE],
        userName: 'preview@corp.test',
        roles: [{ type: 'WindowsAzureActiveDirectoryRole', value: 'App.Analyst' }, { value: 'App.Root' }],
        [ENTERPRISE]: { employeeNumber: 'E-9', department: 'Finance' },
      },
      groups: ['BI Admins'],
    });
    expect(preview.status).toBe(200);
    expect(preview.json()).toMatchObject({
      roles: ['admin', 'analyst', 'finance'],
      refused: ['superuser'],
      fromGroups: ['admin'],
      enterprise: { profile: { idpWorkforceId: 'E-9' }, attributes: { department: ['Finance'] } },
    });
    expect(preview.json().trace.map((t: { path: string }) => t.path)).toEqual(['roles[0]', 'roles[1]', 'roles[2]']);
    expect(await c.gw.db.knex('users').count({ n: '*' }).first()).toEqual(before);
    const doc = (await call(`${c.gw.url}/claimgate/admin/v1/openapi.json`)).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/provisioning/scim-roles', '/provisioning/scim-roles/preview']));
  });
});
