import type { Database, DatabaseOptions } from './database.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

export type { Database, DatabaseLogger, DatabaseOptions, ListenStateHandler, NotificationHandler } from './database.js';
export { isUnavailableError, databaseUnavailable } from './unavailable.js';
export { MIGRATIONS } from './migrations.js';

/**
 * Opens the database named by the configuration: PostgreSQL when `url` is set, else the embedded PGlite
 * in `dataDir`. Does not migrate (call `migrate()`; `start` does unless `database.migrate: false`).
 */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return opts.url ? openPostgres(opts) : openPglite(opts);
}
