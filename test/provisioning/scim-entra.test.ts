import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { call, cookieOf } from '../helpers/gateway.js';
import { ENTERPRISE, GROUP, patch, q, startScim, USER, type ScimClient } from './scim-helpers.js';

/**
 * Microsoft Entra ID's provisioning sequence as it really sends it (capitalised ops, "True"/"False" strings,
 * path-less replace with dotted and URN keys, manager as a bare id, member removal by value list), replayed over
 * real HTTP against the real database.
 */
describe('SCIM with Microsoft Entra ID', () => {
  let c: ScimClient;
  beforeAll(async () => {
    c = await startScim();
  });
  afterAll(async () => {
    await c?.gw.close();
  });
  const ctx = () => c.gw.running.gateway.parts;
  const roles = async (id: string) => (await ctx().users.getById(id))!.roles;

  const entraUser = (suffix = randomUUID()) => ({
    schemas: [USER, ENTERPRISE],
    externalId: `ext-${suffix}`,
    userName: `Test_User_${suffix}@contoso.test`,
    active: true,
    emails: [{ primary: true, type: 'work', value: `Test_User_${suffix}@contoso.test` }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
    [ENTERPRISE]: { employeeNumber: '42', department: 'Engineering' },
  });
  const create = async (body: unknown = entraUser()) => {
    const r = await c.scim('POST', '/Users', body);
    expect(r.status).toBe(201);
    return r.json();
  };

  it('test connection: a filter for a random userName is 200 with an empty ListResponse', async () => {
    const r = await c.scim('GET', `/Users?${q(`userName eq "${randomUUID()}"`)}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(r.json()).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
    const g = await c.scim('GET', `/Groups?excludedAttributes=members&${q(`displayName eq "${randomUUID()}"`)}`);
    expect(g.status).toBe(200);
    expect(g.json().totalResults).toBe(0);
  });

  it('create, then match by userName (any case), externalId and emails[type eq "work"].value', async () => {
    const body = entraUser();
    const u = await create(body);
    expect(u).toMatchObject({ userName: body.userName, externalId: body.externalId, active: true, name: body.name });
    expect(u.meta.location).toBe(`http://gateway.test/claimgate/scim/v2/Users/${u.id}`);
    expect(u[ENTERPRISE]).toEqual({ employeeNumber: '42', department: 'Engineering' });
    for (const filter of [
      `userName eq "${body.userName.toUpperCase()}"`,
      `externalId eq "${body.externalId}"`,
      `emails[type eq "work"].value eq "${body.emails[0]!.value}"`,
    ]) {
      const r = await c.scim('GET', `/Users?${q(filter)}`);
      expect([filter, r.status, r.json().totalResults, r.json().Resources[0]?.id]).toEqual([filter, 200, 1, u.id]);
    }
    // The same person as a login user: userName is the usercode, externalId the idp_reference_id.
    const stored = await ctx().users.getByUsercode(body.userName);
    expect(stored).toMatchObject({ id: u.id, idpReferenceId: body.externalId, email: body.emails[0]!.value, firstName: 'givenName', identities: [] });
    const dup = await c.scim('POST', '/Users', { ...body, userName: body.userName.toLowerCase() });
    expect(dup.status).toBe(409);
    expect(dup.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness' });
  });

  it('update: capitalised ops, filtered email replace, Add on a single-valued attribute, path-less dotted and URN keys', async () => {
    const u = await create();
    const r = await c.scim(
      'PATCH',
      `/Users/${u.id}`,
      patch(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updated@contoso.test' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        { op: 'Add', path: 'displayName', value: 'First Name' },
        { op: 'Add', path: 'displayName', value: 'Second Name' },
        { op: 'Add', path: 'title', value: 'Engineer' },
        {
          op: 'Replace',
          value: { 'name.givenName': 'Newgiven', [`${ENTERPRISE}:department`]: 'Sales', 'urn:ietf:params:scim:schemas:core:2.0:User:nickName': 'nick' },
        },
      ),
    );
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({
      displayName: 'Second Name',
      title: 'Engineer',
      nickName: 'nick',
      name: { givenName: 'Newgiven', familyName: 'updatedFamilyName', formatted: 'givenName familyName' },
      emails: [{ value: 'updated@contoso.test', type: 'work', primary: true }],
      [ENTERPRISE]: { department: 'Sales', employeeNumber: '42' },
    });
    expect(await ctx().users.getById(u.id)).toMatchObject({ email: 'updated@contoso.test', displayName: 'Second Name', lastName: 'updatedFamilyName' });
    const again = await c.scim('GET', `/Users/${u.id}`);
    expect(again.json()).toEqual(r.json());
  });

  it('a filtered Add that matches nothing creates the entry; .Value casing is accepted', async () => {
    const u = await create({ schemas: [USER], userName: `nomail-${randomUUID()}` });
    const r = await c.scim(
      'PATCH',
      `/Users/${u.id}`,
      patch(
        { op: 'Add', path: 'emails[type eq "work"].Value', value: 'new@contoso.test' },
        { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0100' },
        { op: 'Add', path: 'addresses[type eq "work"].locality', value: 'Redmond' },
      ),
    );
    expect(r.status).toBe(200);
    expect(r.json().emails).toEqual([{ type: 'work', value: 'new@contoso.test' }]);
    expect(r.json().phoneNumbers).toEqual([{ type: 'mobile', value: '+1 555 0100' }]);
    expect(r.json().addresses).toEqual([{ type: 'work', locality: 'Redmond' }]);
    expect((await ctx().users.getById(u.id))!.email).toBe('new@contoso.test');
    const byPhone = await c.scim('GET', `/Users?${q('phoneNumbers[type eq "mobile" and value sw "+1 555"]')}`);
    expect(byPhone.json().Resources.map((x: { id: string }) => x.id)).toEqual([u.id]);
  });

  it('manager: sent as a bare id string, read back as manager.value; removed again', async () => {
    const boss = await create();
    const u = await create();
    const r = await c.scim('PATCH', `/Users/${u.id}`, patch({ op: 'Add', path: `${ENTERPRISE}:manager`, value: boss.id }));
    expect(r.status).toBe(200);
    expect(r.json()[ENTERPRISE].manager).toEqual({ value: boss.id });
    const byManager = await c.scim('GET', `/Users?${q(`${ENTERPRISE}:manager.value eq "${boss.id}"`)}`);
    expect(byManager.json().Resources.map((x: { id: string }) => x.id)).toEqual([u.id]);
    const removed = await c.scim('PATCH', `/Users/${u.id}`, patch({ op: 'Remove', path: `${ENTERPRISE}:manager` }));
    expect(removed.json()[ENTERPRISE].manager).toBeUndefined();
    expect(removed.json()[ENTERPRISE].department).toBe('Engineering');
  });

  it('disable with "False": readable and filterable, suspended, sessions ended; re-enable with "True"', async () => {
    const body = entraUser();
    const u = await create(body);
    // The first login claims the SCIM user and starts a session.
    const sso = await call(`${c.gw.url}/claimgate/sso?jwt=${await c.gw.token({ preferred_username: body.userName, sub: `sub-${u.id}` })}`);
    expect(sso.status).toBe(303);
    const cookie = cookieOf(sso.headers['set-cookie']);
    expect((await ctx().users.getById(u.id))!.identities).toHaveLength(1);

    const off = await c.scim('PATCH', `/Users/${u.id}`, patch({ op: 'Replace', path: 'active', value: 'False' }));
    expect(off.status).toBe(200);
    expect(off.json().active).toBe(false);
    expect((await ctx().users.getById(u.id))!.lifecycle).toBe('SUSPENDED');
    expect((await call(`${c.gw.url}/claimgate/me`, { headers: { cookie } })).status).toBe(401);
    const inactive = await c.scim('GET', `/Users?${q(`active eq false and userName eq "${body.userName}"`)}`);
    expect(inactive.json().totalResults).toBe(1);
    expect((await c.scim('GET', `/Users/${u.id}`)).json().active).toBe(false);

    const on = await c.scim('PATCH', `/Users/${u.id}`, patch({ op: 'Replace', path: 'active', value: 'True' }));
    expect(on.json().active).toBe(true);
    expect((await ctx().users.getById(u.id))!.lifecycle).toBe('ACTIVE');
  });

  it('groups: create, members added and removed (value list and members[value eq]), roles follow with source scim', async () => {
    const a = await create();
    const b = await create();
    const g = await c.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'BI Admins', externalId: randomUUID(), members: [] });
    expect(g.status).toBe(201);
    const gid = g.json().id;
    const found = await c.scim('GET', `/Groups?excludedAttributes=members&${q('displayName eq "bi admins"')}`);
    expect(found.json().Resources).toEqual([expect.not.objectContaining({ members: expect.anything() })]);

    const add = await c.scim('PATCH', `/Groups/${gid}`, patch({ op: 'Add', path: 'members', value: [{ value: a.id }, { Value: b.id }] }));
    expect(add.status).toBe(204);
    expect(await roles(a.id)).toEqual([{ name: 'admin', source: 'scim' }]);
    expect(await roles(b.id)).toEqual([{ name: 'admin', source: 'scim' }]);
    expect((await c.scim('GET', `/Users/${a.id}`)).json().groups).toEqual([expect.objectContaining({ value: gid, display: 'BI Admins' })]);
    const members = await c.scim('GET', `/Groups?${q(`members[value eq "${a.id}"]`)}`);
    expect(members.json().Resources.map((x: { id: string }) => x.id)).toEqual([gid]);

    // Entra removes one member with a value list: only that one goes.
    await c.scim('PATCH', `/Groups/${gid}`, patch({ op: 'Remove', path: 'members', value: [{ value: a.id }] }));
    expect(await roles(a.id)).toEqual([]);
    expect(await roles(b.id)).toEqual([{ name: 'admin', source: 'scim' }]);
    await c.scim('PATCH', `/Groups/${gid}`, patch({ op: 'Remove', path: `members[value eq "${b.id}"]` }));
    expect(await roles(b.id)).toEqual([]);
    expect((await c.scim('GET', `/Groups/${gid}`)).json().members).toEqual([]);

    // A rename changes which roles the group gives, for every member.
    await c.scim('PATCH', `/Groups/${gid}`, patch({ op: 'Add', path: 'members', value: [{ value: a.id }] }));
    await c.scim('PATCH', `/Groups/${gid}`, patch({ op: 'Replace', path: 'displayName', value: 'BI Viewers' }));
    expect(await roles(a.id)).toEqual([]);
    await c.scim('PATCH', `/Groups/${gid}`, patch({ op: 'Replace', value: { displayName: 'BI Admins' } }));
    expect(await roles(a.id)).toEqual([{ name: 'admin', source: 'scim' }]);

    expect((await c.scim('DELETE', `/Groups/${gid}`)).status).toBe(204);
    expect(await roles(a.id)).toEqual([]);
    expect((await c.scim('GET', `/Groups/${gid}`)).status).toBe(404);
  });

  it('a PATCH with an empty Operations list is a no-op', async () => {
    const u = await create();
    const r = await c.scim('PATCH', `/Users/${u.id}`, patch());
    expect(r.status).toBe(200);
    expect(r.json().meta).toEqual(u.meta);
  });

  it('delete: 204, then 404 with a SCIM error body', async () => {
    const u = await create();
    expect((await c.scim('DELETE', `/Users/${u.id}`)).status).toBe(204);
    const gone = await c.scim('GET', `/Users/${u.id}`);
    expect(gone.status).toBe(404);
    expect(gone.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' });
    expect(await ctx().users.getById(u.id)).toBeNull();
    expect((await c.scim('DELETE', `/Users/${u.id}`)).status).toBe(404);
  });
});
