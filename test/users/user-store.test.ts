import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Database } from '../../src/store/db/index.js';
import { UserStore, userToJson } from '../../src/store/users/index.js';
import { openTestDatabase } from '../helpers/db.js';
import { desired, login } from './fixtures.js';

const kindName = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

describe(`UserStore provisioning helpers (${kindName})`, () => {
  let db: Database;
  let store: UserStore;
  const changed: string[] = [];
  beforeAll(async () => {
    db = await openTestDatabase();
    store = new UserStore(db, { onUserChanged: (id) => changed.push(id) });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('createUser refuses a usercode that exists in another case', async () => {
    const u = await store.createUser({ usercode: 'Bob', profile: { email: 'bob@x.io', userType: 'service', tags: 'ops' }, source: 'api' });
    expect(u).toMatchObject({ usercode: 'Bob', email: 'bob@x.io', userType: 'SERVICE', tags: ['ops'], identities: [], lastLoginAt: null });
    await expect(store.createUser({ usercode: 'BOB', source: 'api' })).rejects.toMatchObject({ code: 'usercode_taken', status: 409 });
  });

  it('setSourceGrants bumps the version and notifies only when something changed', async () => {
    const u = await store.createUser({ usercode: 'carol', source: 'scim' });
    changed.length = 0;
    const first = await store.setSourceGrants(u.id, 'scim', { roles: ['admin'], attributes: { region: ['EU'] } }, { actor: 'scim-client' });
    expect(first).toMatchObject({ changed: true, changes: { roles: { added: ['admin'] } } });
    expect(changed).toEqual([u.id]);
    const again = await store.setSourceGrants(u.id, 'scim', { roles: ['admin'], attributes: { region: ['EU'] } });
    expect(again).toEqual({ changed: false, changes: {} });
    expect(changed).toEqual([u.id]);
    expect((await store.getById(u.id))!.version).toBe(2);
    expect(await store.setSourceGrants('01NOPE', 'scim', { roles: [] })).toBeNull();
  });

  it('setLifecycle is idempotent and audited', async () => {
    const u = await store.createUser({ usercode: 'dan', source: 'scim' });
    expect(await store.setLifecycle(u.id, 'SUSPENDED', { actor: 'scim-client', source: 'scim' })).toEqual({ changed: true });
    expect(await store.setLifecycle(u.id, 'SUSPENDED')).toEqual({ changed: false });
    const events = (await db.knex('audit_events').where({ user_id: u.id, type: 'lifecycle_change' })) as { detail: unknown; actor: string }[];
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: 'scim-client', detail: { before: 'ACTIVE', after: 'SUSPENDED' } });
  });

  it('serialises simultaneous logins on every database kind (no deadlock on a single connection)', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => store.loginSync(login('sub-par', desired({ usercode: 'parallel' })))));
    expect(new Set(results.map((r) => r.user.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('userToJson shows the fields of docs/user-record.md in camelCase with grant sources', async () => {
    const r = await store.loginSync(login('sub-json', desired({ usercode: 'jason' })));
    const json = userToJson(r.user);
    expect(Object.keys(json)).toEqual(
      expect.arrayContaining(['id', 'usercode', 'lifecycle', 'status', 'idpReferenceId', 'displayName', 'userType', 'tags', 'roles', 'createdAt', 'lastLoginAt']),
    );
    expect(json.roles).toEqual([{ name: 'analyst', source: 'mapping:corp' }]);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('pruneLoginClaims keeps the newest rows per issuer', async () => {
    await db.knex('login_claims').delete();
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    await db.knex('login_claims').insert([
      ...[1, 2, 3].map((s) => ({ issuer_id: 'a', at: at(s), claims: JSON.stringify({ s }) })),
      { issuer_id: 'b', at: at(1), claims: '{}' },
    ]);
    expect(await store.pruneLoginClaims(2)).toBe(1);
    const left = (await db.knex('login_claims').orderBy(['issuer_id', 'at']).select('issuer_id', 'claims')) as { issuer_id: string; claims: { s?: number } }[];
    expect(left.map((r) => [r.issuer_id, r.claims.s ?? null])).toEqual([
      ['a', 2],
      ['a', 3],
      ['b', null],
    ]);
  });
});
