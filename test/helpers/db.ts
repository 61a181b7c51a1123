import { randomBytes } from 'node:crypto';
import { describe } from '@jest/globals';
import { describeIfAvailable } from './skip.js';
import pg from 'pg';
import { openDatabase, type Database, type DatabaseOptions } from '../../src/store/db/index.js';
import { discardTemplate, migratedTemplate } from './pglite-template.js';

/** Defaults for tests: small pool, short timeouts. */
export const TEST_DB_OPTIONS: Omit<DatabaseOptions, 'url'> = {
  dataDir: '',
  poolMax: 5,
  connectionTimeoutMs: 5000,
  statementTimeoutMs: 15000,
};

/** True when the suite runs against a real PostgreSQL (DATABASE_URL set). */
export const hasPostgres = (): boolean => !!process.env.DATABASE_URL;

/**
 * A fresh, migrated database for one test file (or test). With DATABASE_URL: a new randomly named
 * schema in that database (every pool connection, the listener and the migrations work inside it), dropped
 * again by `close()`, so Jest workers run side by side without seeing each other's rows. Without it: an
 * in-memory PGlite, loaded from a migrated template (test/helpers/pglite-template.ts) unless `migrate: false`.
 * The same test files run on both.
 */
export async function openTestDatabase(opts: { migrate?: boolean; poolMax?: number } = {}): Promise<TestDatabase> {
  const url = process.env.DATABASE_URL;
  let db: TestDatabase;
  if (url) {
    const schema = `t_${randomBytes(8).toString('hex')}`;
    await adminQuery(url, `CREATE SCHEMA "${schema}"`);
    try {
      db = await openDatabase({ ...TEST_DB_OPTIONS, poolMax: opts.poolMax ?? TEST_DB_OPTIONS.poolMax, url, schema });
    } catch (e) {
      await adminQuery(url, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      throw e;
    }
    const inner = db;
    db = {
      ...inner,
      schema,
      async close() {
        await inner.close();
        await adminQuery(url, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      },
    };
  } else {
    // Migrating PGlite takes most of a test file's setup; a migrated template is copied instead. migrate()
    // below then finds nothing pending (or applies what a stale template lacks).
    const template = (opts.migrate ?? true) ? await migratedTemplate(TEST_DB_OPTIONS) : null;
    db = template
      ? await openDatabase({ ...TEST_DB_OPTIONS, url: '', inMemory: true, loadDataDir: template }).catch(async (e: unknown) => {
          console.warn(`PGlite template did not load (${(e as Error).message}); removed, migrating this database instead`);
          await discardTemplate();
          return openDatabase({ ...TEST_DB_OPTIONS, url: '', inMemory: true });
        })
      : await openDatabase({ ...TEST_DB_OPTIONS, url: '', inMemory: true });
  }
  if (opts.migrate ?? true) {
    try {
      await db.migrate();
    } catch (e) {
      await db.close();
      throw e;
    }
  }
  return db;
}

/** A test database; on PostgreSQL `schema` names its schema, so a second connection pool can join it. */
export type TestDatabase = Database & { schema?: string };

/**
 * Another, independent connection pool and listener on the same PostgreSQL schema: what a second gateway
 * instance would have. Closing it leaves the schema in place (the first database drops it).
 */
export async function openSameDatabase(db: TestDatabase): Promise<Database> {
  const url = process.env.DATABASE_URL;
  if (!url || !db.schema) throw new Error('openSameDatabase needs PostgreSQL');
  return openDatabase({ ...TEST_DB_OPTIONS, url, schema: db.schema });
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * `describe` for tests that need a real PostgreSQL (several connections, real concurrency, LISTEN across
 * connections). Without DATABASE_URL it skips with a visible warning; in CI (`CI=true`) a missing
 * PostgreSQL is a failure, not a skip, because CI installs everything.
 */
export function describeIfPostgres(name: string, fn: () => void): void {
  if (hasPostgres()) {
    describe(name, fn);
    return;
  }
  if (process.env.CLAIMGATE_TEST_EMBEDDED === '1') {
    // CI's second pass runs the database tests on PGlite on purpose; these ran on PostgreSQL in the first.
    process.stderr.write(`SKIPPED on the embedded database: "${name}" needs PostgreSQL (it ran in the PostgreSQL pass)\n`);
    describe.skip(name, fn);
    return;
  }
  describeIfAvailable(false, 'needs PostgreSQL: DATABASE_URL is not set (PGlite is one connection in one process)', name, fn);
}
