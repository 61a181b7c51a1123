import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { call } from '../helpers/gateway.js';
import { describeIfPostgres } from '../helpers/db.js';
import { patch, q, startScim, USER, type ScimClient } from './scim-helpers.js';

describe('SCIM bad input, credentials and filters', () => {
  let c: ScimClient;
  beforeAll(async () => {
    c = await startScim();
  });
  afterAll(async () => {
    await c?.gw.close();
  });
  const user = async () => (await c.scim('POST', '/Users', { schemas: [USER], userName: `u-${randomUUID()}`, displayName: 'Before' })).json();

  it.each([
    ['an unparsable filter', () => c.scim('GET', `/Users?${q('userName eq')}`), 'invalidFilter'],
    ['a filter on an unknown attribute', () => c.scim('GET', `/Users?${q('shoeSize eq "9"')}`), 'invalidFilter'],
    ['a non-integer count', () => c.scim('GET', '/Users?count=ten'), 'invalidValue'],
    ['a body that is not JSON', () => c.scim('POST', '/Users', '{"userName": '), 'invalidSyntax'],
    ['a body without userName', () => c.scim('POST', '/Users', { schemas: [USER], displayName: 'x' }), 'invalidValue'],
    ['a boolean that is not one', () => c.scim('POST', '/Users', { userName: `x-${randomUUID()}`, active: 'maybe' }), 'invalidValue'],
  ])('%s is 400 with its scimType', async (_name, send, scimType) => {
    const r = await send();
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(r.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType });
  });

  it('PATCH: unknown path is invalidPath, bad op invalidSyntax, read-only mutability; nothing is partially applied', async () => {
    const u = await user();
    const cases: [unknown, string][] = [
      [patch({ op: 'replace', path: 'displayName', value: 'After' }, { op: 'replace', path: 'shoeSize', value: 9 }), 'invalidPath'],
      [patch({ op: 'replace', path: 'displayName', value: 'After' }, { op: 'frobnicate', path: 'title', value: 'x' }), 'invalidSyntax'],
      [patch({ op: 'replace', path: 'displayName', value: 'After' }, { op: 'remove' }), 'noTarget'],
      [patch({ op: 'replace', path: 'id', value: 'mine' }), 'mutability'],
      [patch({ op: 'remove', path: 'userName' }), 'invalidValue'],
      [{ schemas: [] }, 'invalidSyntax'],
    ];
    for (const [body, scimType] of cases) {
      const r = await c.scim('PATCH', `/Users/${u.id}`, body);
      expect([scimType, r.status, r.json().scimType]).toEqual([scimType, 400, scimType]);
    }
    const after = (await c.scim('GET', `/Users/${u.id}`)).json();
    expect(after.displayName).toBe('Before');
    expect(after.meta.version).toBe(u.meta.version);
  });

  it('renaming onto an existing userName is 409 uniqueness', async () => {
    const a = await user();
    const b = await user();
    const r = await c.scim('PATCH', `/Users/${b.id}`, patch({ op: 'replace', path: 'userName', value: a.userName.toUpperCase() }));
    expect(r.status).toBe(409);
    expect(r.json().scimType).toBe('uniqueness');
  });

  it('filters: co/sw/ew/ne/pr/not/or/gt with case-insensitive userName, in SQL', async () => {
    const tag = randomUUID().slice(0, 8);
    const mk = (name: string, extra: object = {}) => c.scim('POST', '/Users', { userName: `${tag}-${name}`, ...extra }).then((r) => r.json());
    const a = await mk('Alpha', { title: 'Boss' });
    const b = await mk('beta', { displayName: 'B_%' });
    const ids = async (filter: string) =>
      (await c.scim('GET', `/Users?${q(`userName sw "${tag}" and (${filter})`)}`)).json().Resources.map((r: { id: string }) => r.id);
    expect(await ids('userName co "ALPHA"')).toEqual([a.id]);
    expect(await ids(`userName ew "-BETA"`)).toEqual([b.id]);
    expect(await ids('userName ne "' + `${tag}-alpha"`)).toEqual([b.id]);
    expect(await ids('title pr')).toEqual([a.id]);
    expect(await ids('not (title pr)')).toEqual([b.id]);
    expect(await ids('title eq "boss" or displayName eq "b_%"')).toEqual([a.id, b.id]);
    expect(await ids('displayName co "_"')).toEqual([b.id]); // LIKE wildcards are escaped
    expect(await ids('displayName co "x_"')).toEqual([]);
    expect(await ids('meta.created gt "2000-01-01T00:00:00Z"')).toEqual([a.id, b.id]);
    expect(await ids('meta.created lt "2000-01-01T00:00:00Z"')).toEqual([]);
  });

  it('credentials: none → 401 with WWW-Authenticate, wrong scope → 403, an /oauth/token access token works', async () => {
    const none = await call(`${c.gw.url}/claimgate/scim/v2/Users`);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.json().schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    const store = c.gw.running.gateway.parts.credentials.store;
    const other = await store.create({ name: `sync-only-${randomUUID()}`, scopes: ['users:sync'] });
    const narrow = await c.scim('GET', '/Users', undefined, { token: other.token });
    expect([narrow.status, narrow.headers['www-authenticate']]).toEqual([403, 'Bearer error="insufficient_scope", scope="scim"']);
    const bad = await c.scim('GET', '/Users', undefined, { token: 'cg_not-a-real-token-at-all' });
    expect([bad.status, bad.headers['www-authenticate'], bad.json().status]).toEqual([401, 'Bearer error="invalid_token"', '401']);

    const sub = await store.create({ name: `subscriber-${randomUUID()}`, scopes: ['scim'] });
    const tok = await call(`${c.gw.url}/claimgate/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${sub.credential.clientId}&client_secret=${encodeURIComponent(sub.clientSecret)}`,
    });
    const access = tok.json().access_token as string;
    expect((await c.scim('GET', '/ServiceProviderConfig', undefined, { token: access })).status).toBe(200);
    await store.revoke(sub.credential.name);
    expect((await c.scim('GET', '/Users', undefined, { token: access })).status).toBe(401);
  });
});

describeIfPostgres('SCIM filter plan on PostgreSQL', () => {
  let c: ScimClient;
  beforeAll(async () => {
    c = await startScim();
  });
  afterAll(async () => {
    await c?.gw.close();
  });

  it('userName eq "x" over 10,000 users uses the lower(usercode) index, and the answer is right', async () => {
    const knex = c.gw.db.knex;
    await knex.raw(
      `INSERT INTO users (id, usercode, email) SELECT 'U' || lpad(i::text, 8, '0'), 'user' || i, 'user' || i || '@example.test' FROM generate_series(1, 10000) AS i`,
    );
    await knex.raw('ANALYZE users');
    const r = await c.scim('GET', `/Users?${q('userName eq "USER4242"')}`);
    expect(r.json().totalResults).toBe(1);
    expect(r.json().Resources[0].userName).toBe('user4242');

    // The same condition the filter compiler produces, explained.
    const { userFilterScope } = await import('../../src/features/scim/filter-scopes.js');
    const { compileFilter } = await import('../../src/features/scim/filter-sql.js');
    const { parseFilter } = await import('../../src/features/scim/filter-parse.js');
    const compiled = compileFilter(parseFilter('userName eq "USER4242"'), userFilterScope());
    const sql = knex('users as u').leftJoin('scim_users as s', 's.user_id', 'u.id').select('u.id').whereRaw(compiled.sql, compiled.bindings).orderBy('u.id').limit(100).toSQL();
    const plan = (await knex.raw(`EXPLAIN ${sql.sql}`, sql.bindings as never)) as { rows: { 'QUERY PLAN': string }[] };
    const text = plan.rows.map((x) => x['QUERY PLAN']).join('\n');
    expect(text).toMatch(/users_usercode_lower_uq/);
    expect(text).not.toMatch(/Seq Scan on users/);
  });
});
