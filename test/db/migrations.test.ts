import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Database } from '../../src/store/db/index.js';
import { MIGRATIONS } from '../../src/store/db/index.js';
import { migrationSource } from '../../src/store/db/migrations.js';
import { allMigrationsApplied } from '../../src/store/db/migration-check.js';
import { describeIfPostgres, openTestDatabase, TEST_DB_OPTIONS, type TestDatabase } from '../helpers/db.js';

/** The core tables; later migrations add more (each checked by its own capability's tests). */
const TABLES = [
  'api_credentials',
  'audit_events',
  'login_claims',
  'sessions',
  'signing_keys',
  'used_jtis',
  'user_attributes',
  'user_grants',
  'user_identities',
  'users',
];

async function tables(db: Database): Promise<string[]> {
  const r = (await db.knex.raw(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name NOT LIKE 'knex_%' ORDER BY 1`,
  )) as { rows: { table_name: string }[] };
  return r.rows.map((x) => x.table_name);
}

describe(`migrations (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('creates every table, is idempotent, and rolls back cleanly', async () => {
    expect(await tables(db)).toEqual([]);
    await db.migrate();
    const created = await tables(db);
    expect(created).toEqual(expect.arrayContaining(TABLES));
    await db.migrate();
    expect(await tables(db)).toEqual(created);
    const done = (await db.knex('knex_migrations').pluck('name')) as string[];
    expect(done).toEqual([...MIGRATIONS]);

    await db.knex.migrate.rollback({ migrationSource }, true);
    expect(await tables(db)).toEqual([]);
    await db.migrate();
    expect(await tables(db)).toEqual(created);
  });

  it('enforces case-insensitive usercodes and the lifecycle values', async () => {
    await db.knex('users').insert({ id: 'A', usercode: 'Alice' });
    await expect(db.knex('users').insert({ id: 'B', usercode: 'ALICE' })).rejects.toMatchObject({ code: '23505' });
    await expect(db.knex('users').insert({ id: 'C', usercode: 'carol', lifecycle: 'GONE' })).rejects.toMatchObject({ code: '23514' });
    const row = (await db.knex('users').where({ id: 'A' }).first()) as Record<string, unknown>;
    expect(row).toMatchObject({ lifecycle: 'ACTIVE', user_type: 'PERSON', status: [], tags: [] });
    expect(Number(row.version)).toBe(1);
  });

  it('cascades user deletion to identities, grants, attributes and sessions', async () => {
    await db.knex('users').insert({ id: 'D', usercode: 'dave' });
    await db.knex('user_identities').insert({ user_id: 'D', issuer_id: 'corp', iss: 'https://idp', sub: 'd' });
    await db.knex('user_grants').insert({ user_id: 'D', kind: 'role', name: 'admin', source: 'scim' });
    await db.knex('user_attributes').insert({ user_id: 'D', source: 'scim', name: 'region', values: JSON.stringify(['EU']) });
    const t = new Date(Date.now() + 60_000);
    await db.knex('sessions').insert({ id_hash: 'h', user_id: 'D', idle_expires_at: t, absolute_expires_at: t });
    await db.knex('users').where({ id: 'D' }).delete();
    for (const table of ['user_identities', 'user_grants', 'user_attributes', 'sessions']) {
      const [{ n }] = (await db.knex(table).where({ user_id: 'D' }).count({ n: '*' })) as { n: string | number }[];
      expect(Number(n)).toBe(0);
    }
  });
});

/** What `claimgate start`'s primary asks before it loads the migrator (src/store/db/migration-check.ts). */
describeIfPostgres('the quick check that every migration is applied (PostgreSQL)', () => {
  let db: TestDatabase;
  const options = () => ({ ...TEST_DB_OPTIONS, url: process.env.DATABASE_URL!, schema: db.schema });
  beforeAll(async () => {
    db = await openTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('answers false before the first migration, true once all are applied, false when one is missing or unknown', async () => {
    expect(await allMigrationsApplied(options())).toBe(false);
    await db.migrate();
    expect(await allMigrationsApplied(options())).toBe(true);
    // A newer version's migration: the migrator must see it (and refuse), so the quick check does not say "applied".
    await db.knex('knex_migrations').insert({ name: '29990101000000_newer.js', batch: 99, migration_time: new Date() });
    expect(await allMigrationsApplied(options())).toBe(false);
    await db.knex('knex_migrations').where({ name: '29990101000000_newer.js' }).delete();
    expect(await allMigrationsApplied(options())).toBe(true);
    await db.knex('knex_migrations').where({ name: MIGRATIONS[MIGRATIONS.length - 1] }).delete();
    expect(await allMigrationsApplied(options())).toBe(false);
  });

  it('answers false, rather than failing, when the database cannot be reached', async () => {
    const unreachable = { ...options(), url: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMs: 1000 };
    expect(await allMigrationsApplied(unreachable)).toBe(false);
  });
});
