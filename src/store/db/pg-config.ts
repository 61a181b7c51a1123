import type pg from 'pg';
import type { DatabaseOptions } from './database.js';

/** Schema names we accept (they end up in a connection option, so no quoting games). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The pg connection settings shared by the pool, the listener and the migration lock. */
export function pgConnectionConfig(opts: DatabaseOptions): pg.ClientConfig {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
    throw new Error('database schema must be a lower-case identifier');
  }
  return {
    connectionString: opts.url,
    connectionTimeoutMillis: opts.connectionTimeoutMs,
    statement_timeout: opts.statementTimeoutMs,
    application_name: 'claimgate',
    keepAlive: true,
    // JIT compilation of a large plan cannot be interrupted by statement_timeout and holds the connection (and a
    // core) for seconds; the gateway's queries are short and never gain from it. Every connection (pool, listener,
    // lock) works in the schema: tests run side by side in one database.
    options: `-c jit=off${opts.schema ? ` -c search_path=${opts.schema}` : ''}`,
  };
}
