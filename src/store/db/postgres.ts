import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { notifyStatement, type Database, type DatabaseOptions } from './database.js';
import { postgresClientClass, withUnavailableErrors } from './client-class.js';
import { runMigrations } from './migrations.js';
import { PgListener } from './pg-listener.js';
import { pgConnectionConfig } from './pg-config.js';
import { redactUrls, toDatabaseError } from './unavailable.js';

/** Opens PostgreSQL through knex + pg. No connection is made until the first query. */
export async function openPostgres(opts: DatabaseOptions): Promise<Database> {
  const connection = pgConnectionConfig(opts);
  const knex = knexFactory({
    client: withUnavailableErrors(postgresClientClass()),
    connection: connection as Knex.PgConnectionConfig,
    pool: { min: 0, max: opts.poolMax, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: opts.connectionTimeoutMs,
    log: knexLog(opts),
  });
  const listener = new PgListener({
    connection,
    onError: (e) => opts.logger?.warn('database listener: connection problem', { error: describe(e) }),
  });

  return {
    knex,
    kind: 'postgres',
    async migrate() {
      // Several instances may start at once: one migrates, the others wait and then find nothing to do.
      const lock = new pg.Client(connection);
      lock.on('error', () => undefined);
      try {
        await lock.connect();
      } catch (e) {
        throw toDatabaseError(e);
      }
      const key = `claimgate:migrate:${opts.schema ?? ''}`;
      try {
        await lock.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
        await runMigrations(knex, opts.schema);
      } finally {
        await lock.end().catch(() => undefined); // ending the session releases the lock
      }
    },
    async notify(channel, payload) {
      // A notifying transaction holds a database-wide lock from its commit until its commit record is flushed, so
      // every NOTIFY waits for the disk in turn. This one writes nothing to keep: it commits without waiting for the
      // flush (a message is never durable anyway; a listener that is down misses it and flushes its caches).
      const { sql, bindings } = notifyStatement(channel, payload, "set_config('synchronous_commit', 'off', true)");
      if (bindings.length) await knex.raw(sql, bindings);
    },
    listen: (channel, onMessage, onState) => listener.listen(channel, onMessage, onState),
    isListening: () => listener.isListening(),
    async healthCheck() {
      await knex.raw('SELECT 1');
    },
    async close() {
      await listener.close();
      await knex.destroy();
    },
  };
}

const describe = (e: unknown): string => {
  const err = (e ?? {}) as { code?: unknown; message?: unknown };
  return redactUrls(`${typeof err.code === 'string' ? `${err.code}: ` : ''}${typeof err.message === 'string' ? err.message : String(e)}`);
};

/** knex logs pool and connection errors on its own; route them (redacted) or drop them. */
function knexLog(opts: DatabaseOptions): Knex.Logger {
  const warn = (m: unknown) => opts.logger?.warn('database: driver warning', { error: describe(m) });
  return { warn, error: warn, debug: () => undefined, deprecate: () => undefined };
}
