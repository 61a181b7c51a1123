import pg from 'pg';
import type { DatabaseOptions } from './database.js';
import { MIGRATIONS } from './migrations.js';
import { pgConnectionConfig } from './pg-config.js';

/**
 * True when PostgreSQL already records every migration as applied: one query over pg, without loading knex and its
 * migrator. The primary of `claimgate start` asks this first, so the usual start (nothing to migrate) costs it a
 * connection and a query instead of some hundred milliseconds of CPU that its workers need. Any doubt (no table
 * yet, a name missing, a name this version does not know, an error) answers false, and the migrator then decides and
 * reports (an unknown name means a newer claimgate migrated this database: the migrator refuses to start on it).
 */
export async function allMigrationsApplied(opts: DatabaseOptions): Promise<boolean> {
  const client = new pg.Client(pgConnectionConfig(opts));
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ name: string }>('SELECT name FROM knex_migrations');
    const applied = new Set(rows.map((r) => r.name));
    const known = new Set<string>(MIGRATIONS);
    return MIGRATIONS.every((name) => applied.has(name)) && [...applied].every((name) => known.has(name));
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
