import type { Database } from './index.js';

/** The outcome of {@link JobLock.tryRun}: the work ran (and its value), or another run held the lock. */
export type LockResult<T> = { acquired: true; value: T } | { acquired: false };

/**
 * Mutual exclusion per job name, across every process of every instance. On PostgreSQL a transaction-level
 * advisory lock (`pg_try_advisory_xact_lock`) held by one pooled connection for the whole run: a crashed process
 * drops its connection and with it the lock, so the lock doubles as the proof that a run is still alive. The key
 * includes the schema, so gateways on different schemas of one database do not exclude each other. On PGlite
 * (one process owns the database) an in-process lock is the whole truth; it is also taken first on PostgreSQL so
 * a process never spends a connection racing itself.
 */
export class JobLock {
  private readonly held = new Set<string>();

  constructor(private readonly db: Database) {}

  /** True while this process runs `name`. */
  isHeldHere(name: string): boolean {
    return this.held.has(name);
  }

  async tryRun<T>(name: string, fn: () => Promise<T>): Promise<LockResult<T>> {
    if (this.held.has(name)) return { acquired: false };
    this.held.add(name);
    try {
      if (this.db.kind !== 'postgres') return { acquired: true, value: await fn() };
      return await this.db.knex.transaction(async (trx) => {
        const r = (await trx.raw(`SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || ':claimgate-job:' || ?)) AS ok`, [name])) as {
          rows: { ok: boolean }[];
        };
        if (!r.rows[0]?.ok) return { acquired: false } as const;
        return { acquired: true, value: await fn() } as const;
      });
    } finally {
      this.held.delete(name);
    }
  }
}
