import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import { packageRoot } from '../../core/package-root.js';

/**
 * Every migration, in order. They are plain ESM JavaScript in migrations/ (outside src/, next to package.json) so
 * the same files load from the TypeScript sources (tsx, Jest) and from the build in dist/. Add new files at the
 * end; never rename one.
 */
export const MIGRATIONS = ['20261124000001_init.js', '20261201000001_credentials.js', '20261201000010_admin.js', '20261201000020_scim.js', '20261201000030_jobs_events.js', '20261206000040_audit_stream.js', '20261206000041_last_activity.js', '20261206000042_event_queue.js', '20261206000043_full_sync.js', '20261206000044_login_function.js'] as const;

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** A migration file in the package's migrations/ folder. */
export function migrationUrl(name: string): URL {
  return pathToFileURL(join(packageRoot(), 'migrations', name));
}

/** knex migration source over the fixed list (no directory scanning: nothing else can sneak in). */
export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (name) => name,
  getMigration: async (name) => (await import(migrationUrl(name).href)) as MigrationModule,
};

/** Runs pending migrations, in `schema` when given. */
export async function runMigrations(knex: Knex, schema?: string): Promise<void> {
  await knex.migrate.latest({ migrationSource, ...(schema ? { schemaName: schema } : {}) });
}
