import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openDatabase, type Database } from '../../src/store/db/index.js';
import { UnavailableError } from '../../src/core/errors/errors.js';
import { describeIfPostgres, openTestDatabase, TEST_DB_OPTIONS } from '../helpers/db.js';
import { Flaky } from '../helpers/flaky.js';

const kindName = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

/** Resolves with the next value passed to the returned callback (or rejects after `ms`). */
function nextCall<T>(ms = 3000): { fn: (v: T) => void; next: () => Promise<T> } {
  let waiting: ((v: T) => void) | null = null;
  const queue: T[] = [];
  return {
    fn: (v) => {
      if (waiting) {
        const w = waiting;
        waiting = null;
        w(v);
      } else queue.push(v);
    },
    next: () =>
      queue.length
        ? Promise.resolve(queue.shift() as T)
        : new Promise<T>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error('timed out waiting')), ms);
            waiting = (v) => {
              clearTimeout(t);
              resolve(v);
            };
          }),
  };
}

describe(`database (${kindName})`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('reports its kind and answers the health check', async () => {
    expect(db.kind).toBe(process.env.DATABASE_URL ? 'postgres' : 'pglite');
    await expect(db.healthCheck()).resolves.toBeUndefined();
  });

  it('answers row counts for update and delete, as knex does on PostgreSQL', async () => {
    const t = new Date(Date.now() + 60_000);
    await db.knex('used_jtis').insert([
      { issuer_id: 'cnt', jti: '1', expires_at: t },
      { issuer_id: 'cnt', jti: '2', expires_at: t },
    ]);
    expect(await db.knex('used_jtis').where({ issuer_id: 'cnt' }).update({ expires_at: t })).toBe(2);
    expect(await db.knex('used_jtis').where({ issuer_id: 'cnt' }).delete()).toBe(2);
    expect(await db.knex('used_jtis').where({ issuer_id: 'cnt' }).del()).toBe(0);
  });

  it('delivers a NOTIFY to a listener, and stops after unsubscribe', async () => {
    const messages = nextCall<string>();
    const states: boolean[] = [];
    const unlisten = await db.listen('cg_test_roundtrip', messages.fn, (s) => states.push(s));
    expect(states).toContain(true);
    expect(db.isListening()).toBe(true);
    await db.notify('cg_test_roundtrip', 'user:01ABC');
    expect(await messages.next()).toBe('user:01ABC');

    await unlisten();
    await db.notify('cg_test_roundtrip', 'after');
    await expect(messages.next().then(() => 'got', () => 'none')).resolves.toBe('none');
  });

  it('delivers several payloads sent in one statement, in order, and sends nothing for none', async () => {
    const got: string[] = [];
    let all!: () => void;
    const done = new Promise<void>((r) => (all = r));
    const unlisten = await db.listen('cg_test_many', (p) => {
      got.push(p);
      if (got.length === 3) all();
    });
    await db.notify('cg_test_many', []);
    await db.notify('cg_test_many', ['token:a', 'user:b', 'token:c']);
    await done;
    expect(got).toEqual(['token:a', 'user:b', 'token:c']);
    await unlisten();
  });

  it('delivers a NOTIFY sent inside a transaction at commit, never on rollback', async () => {
    const messages = nextCall<string>(1500);
    const unlisten = await db.listen('cg_test_trx', messages.fn);
    await db.knex
      .transaction(async (trx) => {
        await trx.raw('SELECT pg_notify(?, ?)', ['cg_test_trx', 'rolled-back']);
        throw new Error('rollback');
      })
      .catch(() => undefined);
    await db.knex.transaction(async (trx) => {
      await trx.raw('SELECT pg_notify(?, ?)', ['cg_test_trx', 'committed']);
    });
    expect(await messages.next()).toBe('committed');
    await unlisten();
  });
});

describe('database unreachable', () => {
  it('answers database_unavailable without leaking the URL or password', async () => {
    const db = await openDatabase({
      ...TEST_DB_OPTIONS,
      connectionTimeoutMs: 2000,
      url: 'postgres://claimgate:s3cret-pw@127.0.0.1:1/nowhere',
    });
    try {
      const err = await db.healthCheck().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UnavailableError);
      expect(err).toMatchObject({ code: 'database_unavailable', status: 503, publicMessage: 'The user database is unavailable' });
      const all = JSON.stringify({ m: (err as Error).message, c: String((err as Error).cause), s: (err as Error).stack });
      expect(all).not.toContain('s3cret-pw');
      expect(all).not.toContain('127.0.0.1:1/nowhere');
      // Transactions and migrations fail the same way.
      await expect(db.knex.transaction(async (trx) => trx.raw('SELECT 1'))).rejects.toMatchObject({ code: 'database_unavailable' });
      await expect(db.migrate()).rejects.toMatchObject({ code: 'database_unavailable' });
    } finally {
      await db.close();
    }
  });
});

describeIfPostgres('database outage and recovery (PostgreSQL)', () => {
  let flaky: Flaky;
  let db: Database;
  let setup: Database;
  beforeAll(async () => {
    // A migrated schema reached directly, then a second handle on the same schema through the forwarder.
    setup = await openTestDatabase();
    const url = new URL(process.env.DATABASE_URL!);
    flaky = new Flaky({ host: url.hostname, port: Number(url.port || 5432) });
    await flaky.start();
    url.host = `127.0.0.1:${flaky.port}`;
    const schema = String(((await setup.knex.raw('SELECT current_schema() AS s')) as { rows: { s: string }[] }).rows[0]!.s);
    db = await openDatabase({ ...TEST_DB_OPTIONS, connectionTimeoutMs: 1500, url: url.toString(), schema });
  });
  afterAll(async () => {
    await db?.close();
    await flaky?.close();
    await setup?.close();
  });

  it('sets statement_timeout and application_name on pool connections', async () => {
    const r = (await db.knex.raw(`SELECT current_setting('statement_timeout') AS st, current_setting('application_name') AS app`)) as {
      rows: { st: string; app: string }[];
    };
    expect(r.rows[0]).toEqual({ st: '15s', app: 'claimgate' });
  });

  it('fails with database_unavailable while cut, and the next call after restore works', async () => {
    await db.healthCheck();
    flaky.cut();
    await expect(db.healthCheck()).rejects.toMatchObject({ code: 'database_unavailable' });
    await expect(db.knex('users').count()).rejects.toMatchObject({ code: 'database_unavailable' });
    flaky.restore();
    await expect(db.healthCheck()).resolves.toBeUndefined();
    await expect(db.knex('users').count({ n: '*' })).resolves.toEqual([{ n: expect.anything() }]);
  });

  it('the listener reports the outage, reconnects with back-off and receives again', async () => {
    const states = nextCall<boolean>(10_000);
    const messages = nextCall<string>(3000);
    const unlisten = await db.listen('cg_test_reconnect', messages.fn, states.fn);
    expect(await states.next()).toBe(true);
    await setup.notify('cg_test_reconnect', 'before');
    expect(await messages.next()).toBe('before');

    flaky.cut();
    expect(await states.next()).toBe(false);
    expect(db.isListening()).toBe(false);
    flaky.restore();
    expect(await states.next()).toBe(true);
    expect(db.isListening()).toBe(true);
    await setup.notify('cg_test_reconnect', 'after');
    expect(await messages.next()).toBe('after');
    await unlisten();
  });
});

describe('embedded database on disk (PGlite)', () => {
  it('creates a missing data directory and keeps the data across reopening', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const root = await mkdtemp(join(tmpdir(), 'claimgate-pglite-'));
    const dataDir = join(root, 'nested', 'data');
    try {
      const first = await openDatabase({ ...TEST_DB_OPTIONS, url: '', dataDir });
      expect(first.kind).toBe('pglite');
      await first.migrate();
      await first.knex('users').insert({ id: '01KEEP', usercode: 'kept' });
      await first.close();

      const second = await openDatabase({ ...TEST_DB_OPTIONS, url: '', dataDir });
      try {
        await second.migrate();
        expect(await second.knex('users').pluck('usercode')).toEqual(['kept']);
      } finally {
        await second.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
