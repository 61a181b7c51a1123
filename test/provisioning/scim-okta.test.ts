import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { call, cookieOf } from '../helpers/gateway.js';
import { GROUP, patch, q, startScim, USER, type ScimClient } from './scim-helpers.js';

/**
 * Okta's SCIM 2.0 provisioning (and the checks of its SCIM spec test suite): lowercase ops, path-less
 * `{ op: replace, value: { active: false } }` to deactivate, full PUT updates, a password and a read-only
 * `groups: []` on create, group push with PUT and member PATCHes.
 */
describe('SCIM with Okta', () => {
  let c: ScimClient;
  beforeAll(async () => {
    c = await startScim();
  });
  afterAll(async () => {
    await c?.gw.close();
  });
  const ctx = () => c.gw.running.gateway.parts;
  const PASSWORD = `Okta-Pa55-${randomUUID()}`;
  const oktaUser = (login = `${randomUUID()}@okta.test`) => ({
    schemas: [USER],
    userName: login,
    name: { givenName: 'Ada', familyName: 'Okta' },
    emails: [{ primary: true, value: login, type: 'work' }],
    displayName: 'Ada Okta',
    locale: 'en-US',
    externalId: `00u${randomUUID().slice(0, 8)}`,
    groups: [],
    password: PASSWORD,
    active: true,
  });

  it('the spec-test sequence: not found by filter, create (password never stored), get, find, paging', async () => {
    const body = oktaUser();
    const none = await c.scim('GET', `/Users?${q(`userName eq "${body.userName}"`)}&startIndex=1&count=100`);
    expect(none.status).toBe(200);
    expect(none.json()).toMatchObject({ totalResults: 0, Resources: [] });

    const created = await c.scim('POST', '/Users', body, { contentType: 'application/json' });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(created.json().meta.location);
    const u = created.json();
    expect(u).toMatchObject({ userName: body.userName, active: true, name: body.name, displayName: 'Ada Okta', locale: 'en-US', groups: [] });
    expect(u.password).toBeUndefined();
    // Never stored, never logged.
    for (const table of ['users', 'scim_users', 'audit_events']) {
      expect(JSON.stringify(await c.gw.db.knex(table).select('*'))).not.toContain(PASSWORD);
    }
    expect(c.gw.logs.join('\n')).not.toContain(PASSWORD);

    const got = await c.scim('GET', `/Users/${u.id}`);
    expect(got.json()).toEqual(u);
    const found = await c.scim('GET', `/Users?${q(`userName eq "${body.userName.toUpperCase()}"`)}`);
    expect(found.json().Resources).toEqual([u]);

    const unknown = await c.scim('GET', `/Users/${randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.json().schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
  });

  it('paging: startIndex/count are integers over a stable order; count=0 gives only the total', async () => {
    const tag = randomUUID().slice(0, 8);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await c.scim('POST', '/Users', oktaUser(`page-${tag}-${i}@okta.test`))).json().id);
    const f = q(`userName sw "page-${tag}"`);
    const page = await c.scim('GET', `/Users?${f}&startIndex=2&count=1`);
    expect(page.json()).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 1 });
    expect(page.json().Resources.map((r: { id: string }) => r.id)).toEqual([ids[1]]);
    const all = await c.scim('GET', `/Users?${f}&attributes=userName`);
    expect(all.json().Resources.map((r: { id: string }) => r.id)).toEqual(ids);
    expect(Object.keys(all.json().Resources[0]).sort()).toEqual(['id', 'schemas', 'userName']);
    const zero = await c.scim('GET', `/Users?${f}&count=0`);
    expect(zero.json()).toMatchObject({ totalResults: 3, itemsPerPage: 0, Resources: [] });
    const search = await c.scim('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: `userName sw "page-${tag}"`, startIndex: 3, count: 10 });
    expect(search.json().Resources.map((r: { id: string }) => r.id)).toEqual([ids[2]]);
  });

  it('full PUT update; deactivate and reactivate with a path-less replace', async () => {
    const body = oktaUser();
    const u = (await c.scim('POST', '/Users', body)).json();
    const put = await c.scim('PUT', `/Users/${u.id}`, { ...body, id: u.id, name: { givenName: 'Augusta', familyName: 'Okta' }, locale: undefined, title: 'CTO' });
    expect(put.status).toBe(200);
    expect(put.json()).toMatchObject({ name: { givenName: 'Augusta', familyName: 'Okta' }, title: 'CTO' });
    expect(put.json().locale).toBeUndefined();
    expect((await ctx().users.getById(u.id))!.firstName).toBe('Augusta');

    const off = await c.scim('PATCH', `/Users/${u.id}`, patch({ op: 'replace', value: { active: false } }));
    expect(off.json().active).toBe(false);
    expect((await ctx().users.getById(u.id))!.lifecycle).toBe('SUSPENDED');
    // A PUT without active keeps the lifecycle; Okta's password change is accepted and dropped.
    const { active: _a, ...withoutActive } = body;
    expect((await c.scim('PUT', `/Users/${u.id}`, withoutActive)).json().active).toBe(false);
    const on = await c.scim('PATCH', `/Users/${u.id}`, patch({ op: 'replace', value: { active: true, password: 'n3w-Secret!' } }));
    expect(on.json().active).toBe(true);
    expect(JSON.stringify(await c.gw.db.knex('scim_users').select('*'))).not.toContain('n3w-Secret!');
  });

  it('group push: create with members, PUT, PATCH add/remove, delete', async () => {
    const a = (await c.scim('POST', '/Users', oktaUser())).json();
    const b = (await c.scim('POST', '/Users', oktaUser())).json();
    const g = await c.scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Okta Analysts', externalId: 'ext-analysts', members: [{ value: a.id, display: a.userName }] });
    expect(g.status).toBe(201);
    const gid = g.json().id;
    expect((await ctx().users.getById(a.id))!.roles).toEqual([
      { name: 'analyst', source: 'scim' },
      { name: 'exporter', source: 'scim' },
    ]);
    const put = await c.scim('PUT', `/Groups/${gid}`, { schemas: [GROUP], displayName: 'Okta Analysts', externalId: 'ext-analysts', members: [{ value: b.id }] });
    expect(put.json().members.map((m: { value: string }) => m.value)).toEqual([b.id]);
    expect((await ctx().users.getById(a.id))!.roles).toEqual([]);
    expect((await ctx().users.getById(b.id))!.roles.map((r) => r.name)).toEqual(['analyst', 'exporter']);
    await c.scim('PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: a.id, display: a.userName }] }), { contentType: 'application/json' });
    await c.scim('PATCH', `/Groups/${gid}`, patch({ op: 'remove', path: `members[value eq "${b.id}"]` }));
    expect((await c.scim('GET', `/Groups/${gid}`)).json().members.map((m: { value: string }) => m.value)).toEqual([a.id]);
    const bad = await c.scim('PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: 'no-such-user' }] }));
    expect(bad.status).toBe(400);
    expect(bad.json().scimType).toBe('invalidValue');
    expect((await c.scim('DELETE', `/Groups/${gid}`)).status).toBe(204);
    expect((await ctx().users.getById(a.id))!.roles).toEqual([]);
  });

  it('a user disabled through SCIM is refused at its next proxied request (session 401, bearer 403 user_suspended)', async () => {
    const body = oktaUser();
    const u = (await c.scim('POST', '/Users', body)).json();
    const claims = { preferred_username: body.userName, sub: `okta-${u.id}` };
    const sso = await call(`${c.gw.url}/claimgate/sso?jwt=${await c.gw.token(claims)}`);
    expect(sso.status).toBe(303);
    const cookie = cookieOf(sso.headers['set-cookie']);
    const bearer = await c.gw.token(claims, { noJti: true });
    expect((await call(`${c.gw.url}/reports`, { headers: { cookie } })).status).toBe(200);
    expect((await call(`${c.gw.url}/reports`, { headers: { authorization: `Bearer ${bearer}` } })).status).toBe(200);

    await c.scim('PATCH', `/Users/${u.id}`, patch({ op: 'replace', value: { active: false } }));
    expect((await call(`${c.gw.url}/reports`, { headers: { cookie } })).status).toBe(401);
    const b = await call(`${c.gw.url}/reports`, { headers: { authorization: `Bearer ${bearer}` } });
    expect(b.status).toBe(403);
    expect(b.json().code).toBe('user_suspended');
  });

  it('discovery: ServiceProviderConfig, ResourceTypes and Schemas', async () => {
    const spc = await c.scim('GET', '/ServiceProviderConfig');
    expect(spc.json()).toMatchObject({ patch: { supported: true }, filter: { supported: true, maxResults: 1000 }, bulk: { supported: false } });
    const types = await c.scim('GET', '/ResourceTypes');
    expect(types.json().Resources.map((r: { name: string }) => r.name)).toEqual(['User', 'Group']);
    const schemas = await c.scim('GET', '/Schemas');
    expect(schemas.json().totalResults).toBe(3);
    expect((await c.scim('GET', `/Schemas/${USER}`)).json().attributes.map((a: { name: string }) => a.name)).toContain('userName');
  });
});
