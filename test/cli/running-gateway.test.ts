import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliIo } from '../../src/app/cli/main.js';
import { parseConfigObject } from '../../src/core/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import { openDatabase } from '../../src/store/db/index.js';
import { DataDirLockedError, LOCK_FILE, lockDataDir, readLockOwner } from '../../src/store/db/data-dir-lock.js';
import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { describeIfPostgres, TEST_DB_OPTIONS } from '../helpers/db.js';
import { ACROSS_PROCESSES_MS } from '../helpers/wait.js';

const SECRET = 'k'.repeat(40);
const io = (out: string[], err: string[]): CliIo => ({ out: (s) => out.push(s), err: (s) => err.push(s), env: { S: SECRET } });
const cli = async (args: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, io(out, err));
  return { code, out: out.join('\n'), err: err.join('\n') };
};
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Polls until `check` holds, for at most `ms`; returns how long it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// A fresh on-disk PGlite runs initdb (and the gateway its migrations) in WebAssembly on this thread: seconds of CPU
// alone, many times that on a loaded machine, so those steps get two minutes rather than Jest's default 30 s.
describe('the embedded data directory is owned by one process', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cg-lock-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a second open is refused with the owner named; closing releases it', async () => {
    const first = await openDatabase({ ...TEST_DB_OPTIONS, url: '', dataDir: join(dir, 'a') });
    try {
      const owner = readLockOwner(join(dir, 'a'));
      expect(owner?.pid).toBe(process.pid);
      const second = openDatabase({ ...TEST_DB_OPTIONS, url: '', dataDir: join(dir, 'a') });
      await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
      await expect(second).rejects.toThrow(new RegExp(`in use by process ${process.pid} `));
    } finally {
      await first.close();
    }
    expect(existsSync(join(dir, 'a', LOCK_FILE))).toBe(false);
    const again = await openDatabase({ ...TEST_DB_OPTIONS, url: '', dataDir: join(dir, 'a') });
    await again.close();
  }, 120_000);

  it('a lock left by a process that is gone is replaced', () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout);
    const d = join(dir, 'stale');
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: deadPid, startedAt: Date.now() - 60_000, host: hostname(), command: 'claimgate start' }));
    const lock = lockDataDir(d);
    expect(readLockOwner(d)?.pid).toBe(process.pid);
    lock.release();
    // A pid that lives but belongs to a later process (its start time differs) is stale too.
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: process.pid, startedAt: 1_000, host: hostname(), command: 'claimgate start' }));
    lockDataDir(d).release();
  });
});


describe('admin commands against a running gateway on the embedded database', () => {
  let dir: string;
  let configFile: string;
  let running: RunningServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cg-running-'));
    configFile = join(dir, 'claimgate.yaml');
    const raw = {
      publicUrl: 'http://gateway.test',
      listen: { host: '127.0.0.1', port: 0 },
      session: { secret: '${S}' },
      upstream: { url: 'http://127.0.0.1:9' },
      database: { url: '', dataDir: join(dir, 'data') },
    };
    writeFileSync(configFile, JSON.stringify(raw));
    const config = parseConfigObject(raw, { S: SECRET });
    running = await startServer(config, { logger: createLogger({ silent: true }), jobs: { disabled: true } });
  }, 120_000);
  afterAll(async () => {
    await running?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tokens create/list/revoke go through the gateway; its answers change at once; audited as cli', async () => {
    const owner = readLockOwner(join(dir, 'data'));
    expect(owner?.adminSocket).toBeTruthy();
    expect(statSync(owner!.adminSocket!).mode & 0o077).toBe(0);
    const created = await cli(['tokens', 'create', '--name', 'ops', '--scopes', 'admin:read', '--json', '--config', configFile]);
    expect(created.err).toBe('');
    expect(created.code).toBe(0);
    const { token } = JSON.parse(created.out) as { token: string };
    expect((await call(`${running.url}/claimgate/admin/v1/tokens`, { headers: bearer(token) })).status).toBe(200);
    expect((await cli(['tokens', 'list', '--config', configFile])).out).toMatch(/^ops +admin:read /m);
    const revoked = await cli(['tokens', 'revoke', 'ops', '--config', configFile]);
    expect(revoked.code).toBe(0);
    expect((await call(`${running.url}/claimgate/admin/v1/tokens`, { headers: bearer(token) })).status).toBe(401);
    const events = await running.gateway.parts.db.knex('audit_events').whereIn('type', ['credential_created', 'credential_revoked']).orderBy('id');
    expect(events.map((e: { type: string; actor: string }) => [e.type, e.actor])).toEqual([
      ['credential_created', 'cli'],
      ['credential_revoked', 'cli'],
    ]);
  });

  it('a command that must open the database itself is refused, naming the gateway', async () => {
    const migrated = await cli(['migrate', '--config', configFile]);
    expect(migrated.code).toBe(1);
    expect(migrated.err).toMatch(new RegExp(`in use by process ${process.pid} `));
    // The refusal left the owner's lock in place.
    expect(JSON.parse(readFileSync(join(dir, 'data', LOCK_FILE), 'utf8')).pid).toBe(process.pid);
  });
});

describeIfPostgres('CLI credential changes reach a running gateway on PostgreSQL', () => {
  let gw: TestGateway;
  let dir: string;
  let configFile: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    dir = mkdtempSync(join(tmpdir(), 'cg-pgcli-'));
    configFile = join(dir, 'claimgate.yaml');
    const url = new URL(process.env.DATABASE_URL!);
    url.searchParams.set('options', `-c search_path=${gw.db.schema}`);
    writeFileSync(
      configFile,
      JSON.stringify({ publicUrl: 'http://gateway.test', session: { secret: '${S}' }, upstream: { url: 'http://127.0.0.1:9' }, database: { url: url.href, migrate: false } }),
    );
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a token created by the CLI works at once; its revocation reaches the gateway through the bus', async () => {
    const created = await cli(['tokens', 'create', '--name', 'pg-ops', '--scopes', 'admin:read', '--json', '--config', configFile]);
    expect(created.code).toBe(0);
    const { token } = JSON.parse(created.out) as { token: string };
    expect((await call(`${gw.url}/claimgate/admin/v1/tokens`, { headers: bearer(token) })).status).toBe(200);
    expect((await cli(['tokens', 'revoke', 'pg-ops', '--config', configFile])).code).toBe(0);
    // The CLI revokes through a database connection of its own; the gateway hears of it by the bus.
    await within(ACROSS_PROCESSES_MS, async () => (await call(`${gw.url}/claimgate/admin/v1/tokens`, { headers: bearer(token) })).status === 401);
    const created2 = await gw.db.knex('audit_events').where({ type: 'credential_created', actor: 'cli' });
    expect(created2).toHaveLength(1);
  });
});
