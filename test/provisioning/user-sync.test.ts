import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('POST /claimgate/api/v1/users/sync', () => {
  let gw: TestGateway;
  let token: string;
  beforeAll(async () => {
    gw = await startTestGateway({ provisioning: { api: { allowedRoles: ['viewer', 'analyst', 'Finance Viewer'] } } });
    token = (await gw.running.gateway.parts.credentials.store.create({ name: 'hr', scopes: ['users:sync'] })).token;
  });
  afterAll(async () => {
    await gw?.close();
  });
  const sync = (body: unknown, opts: { token?: string; raw?: boolean } = {}) =>
    call(`${gw.url}/claimgate/api/v1/users/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${opts.token ?? token}`, 'content-type': 'application/json' },
      body: opts.raw ? (body as string) : JSON.stringify(body),
    });
  const users = () => gw.running.gateway.parts.users;
  const rowCounts = async () => {
    const out: Record<string, unknown> = {};
    for (const t of ['users', 'user_grants', 'user_attributes', 'audit_events']) out[t] = (await gw.db.knex(t).count({ n: '*' }))[0]!.n;
    out.versions = await gw.db.knex('users').select('id', 'version', 'updated_at').orderBy('id');
    return out;
  };

  it('one user object: created, then a second identical call is unchanged and writes no rows', async () => {
    const body = {
      usercode: `hr-${randomUUID()}`,
      email: 'ann@example.test',
      displayName: 'Ann',
      firstName: 'Ann',
      lastName: 'Lee',
      roles: ['viewer'],
      permissions: ['export'],
      attributes: { region: ['EU'], costCentre: '42' },
    };
    const first = await sync(body);
    expect(first.status).toBe(200);
    const [r] = first.json().results;
    expect(r).toMatchObject({ index: 0, usercode: body.usercode, outcome: 'created', errors: [] });
    const u = (await users().getById(r.id))!;
    expect(u).toMatchObject({ email: 'ann@example.test', firstName: 'Ann', identities: [], lifecycle: 'ACTIVE' });
    expect(u.roles).toEqual([{ name: 'viewer', source: 'api' }]);
    expect(u.permissions).toEqual([{ name: 'export', source: 'api' }]);
    expect(u.attributes).toEqual({ costCentre: [{ source: 'api', values: ['42'] }], region: [{ source: 'api', values: ['EU'] }] });

    const before = await rowCounts();
    const again = await sync(body);
    expect(again.json().results[0]).toMatchObject({ id: r.id, outcome: 'unchanged' });
    expect(await rowCounts()).toEqual(before);
  });

  it('an array: per-item results with errors naming the field; api grants replaced as a whole, other sources kept', async () => {
    const code = `hr-${randomUUID()}`;
    await sync({ usercode: code, roles: ['viewer', 'analyst'] });
    const id = (await users().getByUsercode(code))!.id;
    await users().setSourceGrants(id, 'admin', { roles: ['admin'] });
    const r = await sync([
      { usercode: code.toUpperCase(), roles: ['analyst'], lifecycle: 'SUSPENDED' },
      { usercode: '', email: 5 },
      { usercode: `hr-${randomUUID()}`, roles: ['admin'] },
      { usercode: `hr-${randomUUID()}`, shoeSize: 9 },
      'not a user',
    ]);
    expect(r.status).toBe(200);
    const results = r.json().results;
    expect(results[0]).toMatchObject({ index: 0, id, usercode: code, outcome: 'updated' });
    expect(results[1]).toMatchObject({ index: 1, id: null, outcome: 'failed' });
    expect(results[1].errors.map((e: { field: string; code: string }) => [e.field, e.code])).toEqual([
      ['usercode', 'required'],
      ['email', 'invalid_type'],
    ]);
    expect(results[2].errors).toEqual([expect.objectContaining({ field: 'roles[0]', code: 'role_not_allowed' })]);
    expect(results[3].errors).toEqual([expect.objectContaining({ field: 'shoeSize', code: 'unknown_field' })]);
    expect(results[4]).toMatchObject({ index: 4, outcome: 'failed', errors: [expect.objectContaining({ code: 'invalid_type' })] });
    const u = (await users().getById(id))!;
    expect(u.lifecycle).toBe('SUSPENDED');
    expect(u.roles).toEqual([
      { name: 'admin', source: 'admin' },
      { name: 'analyst', source: 'api' },
    ]);
    expect(await users().getByUsercode(results[2].usercode ?? 'none')).toBeNull();
  });

  it("the analytics vendor's envelope, with replace semantics", async () => {
    const code = `PI-${randomUUID()}`;
    const item = (roles: unknown[], categories: unknown[], flags: Record<string, boolean>) => ({
      user: { usercode: code, forenames: 'Jwt', surname: 'Auth', email: 'jwt@auth.test', readableUserCode: 'Jwtauth', userExpirationDate: null, ...flags },
      variables: [{ name: 'region', value: 'EU' }, { value: 'anonymous' }],
      restrictions: ['r1'],
      userRoles: roles,
      userCategories: categories,
    });
    const first = await sync([item(['viewer', { name: 'Finance Viewer' }], ['Sales'], { superAdmin: false, editCharts: true, exportToCsv: true })]);
    expect(first.json().results[0]).toMatchObject({ usercode: code, outcome: 'created' });
    let u = (await users().getByUsercode(code))!;
    expect(u).toMatchObject({ firstName: 'Jwt', lastName: 'Auth', email: 'jwt@auth.test' });
    expect(u.roles.map((r) => r.name)).toEqual(['Finance Viewer', 'viewer']);
    expect(u.permissions.map((p) => `${p.name}/${p.source}`)).toEqual(['editCharts/api', 'exportToCsv/api']);
    expect(u.attributes.categories).toEqual([{ source: 'api', values: ['Sales'] }]);
    expect(u.attributes.variables).toEqual([{ source: 'api', values: ['region', '{"value":"anonymous"}'].sort() }]);

    // What the payload no longer defines is gone.
    const second = await sync([item(['viewer'], [], { editCharts: true })]);
    expect(second.json().results[0].outcome).toBe('updated');
    u = (await users().getByUsercode(code))!;
    expect(u.roles.map((r) => r.name)).toEqual(['viewer']);
    expect(u.permissions.map((p) => p.name)).toEqual(['editCharts']);
    expect(u.attributes.categories).toBeUndefined();
    expect((await sync([item(['viewer'], [], { editCharts: true })])).json().results[0].outcome).toBe('unchanged');
    const badRole = await sync([item(['owner'], [], {})]);
    expect(badRole.json().results[0].errors).toEqual([expect.objectContaining({ field: 'userRoles[0]', code: 'role_not_allowed' })]);
  });

  it('400 only for an unparsable body; 413 past 1,000 users; users:sync scope required', async () => {
    const bad = await sync('{"usercode": ', { raw: true });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    const many = await sync(Array.from({ length: 1001 }, (_, i) => ({ usercode: `bulk-${i}` })));
    expect(many.status).toBe(413);
    expect(await users().getByUsercode('bulk-0')).toBeNull();
    expect((await sync({ usercode: 'x' }, { token: 'cg_wrongwrongwrongwrong' })).status).toBe(401);
    const scim = (await gw.running.gateway.parts.credentials.store.create({ name: 'scim-only', scopes: ['scim'] })).token;
    expect((await sync({ usercode: 'x' }, { token: scim })).status).toBe(403);
  });

  it('an /oauth/token access token with users:sync works; 250 users in one call', async () => {
    const sub = await gw.running.gateway.parts.credentials.store.create({ name: 'hr-subscriber', scopes: ['users:sync'] });
    const basic = Buffer.from(`${sub.credential.clientId}:${encodeURIComponent(sub.clientSecret)}`).toString('base64');
    const tok = await call(`${gw.url}/claimgate/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const tag = randomUUID().slice(0, 8);
    const r = await sync(
      Array.from({ length: 250 }, (_, i) => ({ usercode: `${tag}-${i}`, roles: ['viewer'] })),
      { token: tok.json().access_token },
    );
    expect(r.status).toBe(200);
    const outcomes = r.json().results.map((x: { outcome: string }) => x.outcome);
    expect(outcomes.filter((o: string) => o === 'created')).toHaveLength(250);
  });
});
