import type { Database, DatabaseOptions } from './database.js';

export type { Database, DatabaseLogger, DatabaseOptions, ListenStateHandler, NotificationHandler } from './database.js';
export { isUnavailableError, databaseUnavailable } from './unavailable.js';
export { MIGRATIONS } from './migrations.js';

/**
 * Opens the database named by the configuration: PostgreSQL when `url` is set, else the embedded PGlite
 * in `dataDir`. Does not migrate (call `migrate()`; `start` does unless `database.migrate: false`).
 */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  // Each driver is loaded only when used: the embedded PGlite (its WebAssembly build and knex-pglite) is never
  // loaded on PostgreSQL, and pg is not loaded on the embedded database.
  if (opts.url) return (await import('./postgres.js')).openPostgres(opts);
  return (await import('./pglite.js')).openPglite(opts);
}
