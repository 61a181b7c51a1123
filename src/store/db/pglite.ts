import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import ClientPGLite from 'knex-pglite';
import { notifyStatement, type Database, type DatabaseOptions } from './database.js';
import { runMigrations } from './migrations.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';

/**
 * knex-pglite derives the command tag from the knex method, so a `.delete()` (method `del`) comes back
 * as `DEL` and knex's PostgreSQL dialect then returns the raw result instead of the row count. Naming it
 * `delete` restores the count, as on PostgreSQL.
 */
const PgliteBase = ClientPGLite as unknown as new (config: Knex.Config) => Knex.Client & {
  processResponse(obj: unknown, runner: unknown): unknown;
};
class PgliteClient extends PgliteBase {
  override processResponse(obj: { method?: string } | null, runner: unknown): unknown {
    return super.processResponse(obj?.method === 'del' ? { ...obj, method: 'delete' } : obj, runner);
  }
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Opens the embedded PostgreSQL (PGlite): one connection in this process, persisted in `dataDir`
 * (created if missing) or kept in memory. Only one process may open a data directory, which is why the
 * gateway runs a single worker on it.
 */
export async function openPglite(opts: DatabaseOptions): Promise<Database> {
  let pglite: PGlite;
  let lock: DataDirLock | null = null;
  if (opts.inMemory) {
    pglite = new PGlite(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {});
  } else {
    const dir = resolve(opts.dataDir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Two processes writing one PGlite directory corrupt it; the second one is refused, naming the first.
    lock = lockDataDir(dir);
    pglite = new PGlite(dir);
  }
  try {
    await pglite.waitReady;
  } catch (e) {
    lock?.release();
    throw e;
  }
  const knex = knexFactory({
    client: PgliteClient as unknown as typeof Knex.Client,
    connection: { pglite } as unknown as Knex.StaticConnectionConfig,
  });

  /**
   * PGlite is a single session: a LISTEN sent while knex holds the connection for a transaction would join
   * (and could roll back with) that transaction. Holding knex's only connection serialises them.
   */
  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    const conn: unknown = await knex.client.acquireConnection();
    try {
      return await fn();
    } finally {
      await knex.client.releaseConnection(conn);
    }
  };

  return {
    knex,
    kind: 'pglite',
    migrate: () => runMigrations(knex),
    async notify(channel, payload) {
      const { sql, bindings } = notifyStatement(channel, payload);
      if (bindings.length) await knex.raw(sql, bindings);
    },
    async listen(channel, onMessage, onState) {
      const unlisten = await exclusive(() => pglite.listen(quoteIdent(channel), onMessage));
      onState?.(true);
      return () => exclusive(() => unlisten());
    },
    isListening: () => true,
    async healthCheck() {
      await knex.raw('SELECT 1');
    },
    dumpDataDir: () => exclusive(() => pglite.dumpDataDir('none')),
    dataDirLock: lock,
    async close() {
      try {
        await knex.destroy();
        if (!pglite.closed) await pglite.close();
      } finally {
        lock?.release();
      }
    },
  };
}
