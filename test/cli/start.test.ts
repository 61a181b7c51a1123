import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import pg from 'pg';
import { Client } from 'undici';
import { describeIfPostgres } from '../helpers/db.js';
import { call, cookieOf } from '../helpers/gateway.js';
import { makeKeyPair, signToken, type KeyPair } from '../helpers/tokens.js';
import { ACROSS_PROCESSES_MS, within } from '../helpers/wait.js';
import { workerExecArgv } from '../../src/app/server.js';
import { buildBundle } from '../../scripts/build.js';
import { MIGRATIONS } from '../../src/store/db/migrations.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * What the image runs: `npm run build`'s bundle in dist/ with migrations/ and package.json beside it (a copy in a
 * folder of its own, so that nothing resolves through the sources), node_modules for the packages left outside.
 */
async function builtPackage(dir: string): Promise<string> {
  await buildBundle(dir);
  cpSync(join(ROOT, 'migrations'), join(dir, 'migrations'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'dist/app/cli/main.js');
}

/**
 * `claimgate start` as operators run it: the built bundle as a real process with two workers sharing the port
 * (node:cluster) on PostgreSQL, migrating a new database. Caches that must agree (sessions, suspensions) agree across
 * the workers, and SIGTERM stops it cleanly.
 */
describeIfPostgres('claimgate start with two workers', () => {
  let dir: string;
  let child: ChildProcess;
  let app: Server;
  let key: KeyPair;
  let url: string;
  let metricsUrl: string;
  let dbName: string;
  let output = '';
  const admin = () => new pg.Client({ connectionString: process.env.DATABASE_URL });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cg-start-'));
    const main = await builtPackage(join(dir, 'package'));
    key = await makeKeyPair('RS256', 'k1');
    // The app answers with the port of the gateway's connection to it: each worker has its own connection pool.
    app = createServer((req, res) => res.end(JSON.stringify({ user: req.headers['x-claimgate-user'] ?? null, via: req.socket.remotePort })));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    url = `http://127.0.0.1:${port}`;
    const probe2 = createServer();
    await new Promise<void>((r) => probe2.listen(0, '127.0.0.1', r));
    const metricsPort = (probe2.address() as { port: number }).port;
    await new Promise((r) => probe2.close(r));
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    dbName = `cg_start_${randomBytes(6).toString('hex')}`;
    const c = admin();
    await c.connect();
    await c.query(`CREATE DATABASE "${dbName}"`);
    await c.end();
    const dbUrl = Object.assign(new URL(process.env.DATABASE_URL!), { pathname: `/${dbName}` }).href;
    writeFileSync(
      join(dir, 'claimgate.yaml'),
      `publicUrl: ${url}
listen: { host: 127.0.0.1, port: ${port}, workers: 2 }
session: { secret: \${SESSION_SECRET} }
upstream: { url: http://127.0.0.1:${appPort} }
metrics: { listen: 127.0.0.1:${metricsPort} }
console: { enabled: true, writeRoles: [admin] }
issuers:
  - id: corp
    issuer: https://idp.example.test
    audiences: [claimgate]
    keys: [${JSON.stringify(key.publicJwk)}]
    algorithms: [RS256]
    ssoLink: { enabled: true }
    mapping: corp
mappings:
  corp: { user: { usercode: preferred_username }, roles: [{ default: [viewer] }] }
`,
    );
    child = spawn(process.execPath, [main, 'start', '--config', join(dir, 'claimgate.yaml')], {
      env: { ...process.env, DATABASE_URL: dbUrl, SESSION_SECRET: 'z'.repeat(40), PORT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (b) => (output += b));
    child.stderr!.on('data', (b) => (output += b));
    for (let i = 0; i < 150; i++) {
      const ok = await call(`${url}/claimgate/health/ready`).then((r) => r.status === 200, () => false);
      if (ok) break;
      if (child.exitCode !== null) throw new Error(`start exited: ${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await new Promise((r) => app?.close(r));
    const c = admin();
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await c.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a primary and two workers; a logout reaches every worker', async () => {
    const token = await signToken(
      { iss: 'https://idp.example.test', aud: 'claimgate', sub: 'u1', preferred_username: 'ada', jti: randomUUID() },
      { key, now: Math.floor(Date.now() / 1000) },
    );
    const cookie = cookieOf((await call(`${url}/claimgate/sso?jwt=${token}`)).headers['set-cookie']);
    // New connections are spread over the workers; every one of them knows the session.
    for (let i = 0; i < 20; i++) {
      const r = await call(`${url}/x`, { headers: { cookie, connection: 'close' } });
      expect(r.status).toBe(200);
      expect(r.json().user).toBe('ada');
    }
    const out = await call(`${url}/claimgate/logout`, { method: 'POST', headers: { cookie, connection: 'close' } });
    expect(out.status).toBe(204);
    // The worker that answered the logout tells the other one through the bus.
    await within(ACROSS_PROCESSES_MS, async () => {
      const after = await Promise.all(Array.from({ length: 20 }, () => call(`${url}/x`, { headers: { cookie, connection: 'close' } })));
      return after.every((r) => r.status === 401);
    });
    expect(output).toMatch(/"workers":2/);
  });

  it('the bundle finds what sits beside it: the migrations, the console files, the package version', async () => {
    const c = new pg.Client({ connectionString: Object.assign(new URL(process.env.DATABASE_URL!), { pathname: `/${dbName}` }).href });
    await c.connect();
    try {
      const applied = await c.query('SELECT name FROM knex_migrations ORDER BY id');
      expect(applied.rows.map((r: { name: string }) => r.name)).toEqual([...MIGRATIONS]);
    } finally {
      await c.end();
    }
    const css = await call(`${url}/claimgate/console/assets/any/console.css`);
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    const openapi = await call(`${url}/claimgate/admin/v1/openapi.json`);
    expect(openapi.status).toBe(200);
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(openapi.json().info.version).toBe(version);
  });

  it('a scrape answers the sum over both workers, whichever worker takes it', async () => {
    const series = (body: string, name: string) =>
      body
        .split('\n')
        .filter((l) => l.startsWith(name))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    const rejected = (body: string) => series(body, 'claimgate_logins_total{issuer="corp",outcome="rejected",method="sso"}');
    const now = () => Math.floor(Date.now() / 1000);
    const good = await signToken({ iss: 'https://idp.example.test', aud: 'claimgate', sub: 'u3', preferred_username: 'bea', jti: randomUUID() }, { key, now: now() });
    const cookie = cookieOf((await call(`${url}/claimgate/sso?jwt=${good}`, { headers: { connection: 'close' } })).headers['set-cookie']);
    // A connection stays with the worker that accepted it. Two connections are on different workers when the app
    // sees their proxied requests arrive over different connections of the gateway (each worker has its own pool).
    const via = async (c: Client) => {
      const r = await c.request({ path: '/x', method: 'GET', headers: { cookie } });
      return (JSON.parse(await r.body.text()) as { via: number }).via;
    };
    const clients: Client[] = [];
    try {
      const first = new Client(url);
      clients.push(first);
      const firstVia = await via(first);
      let second: Client | undefined;
      for (let i = 0; i < 10 && !second; i++) {
        const c = new Client(url);
        clients.push(c);
        if ((await via(c)) !== firstVia) second = c;
      }
      expect(second).toBeDefined();
      expect(await via(first)).toBe(firstVia); // still the same worker and pool connection

      const before = rejected((await call(metricsUrl, { headers: { connection: 'close' } })).text);
      // Known counts through each worker: 5 refusals on one, 8 on the other.
      const bad = await signToken({ iss: 'https://idp.example.test', aud: 'someone-else', sub: 'u2', jti: randomUUID() }, { key, now: now() });
      for (const [c, n] of [[first, 5], [second!, 8]] as const) {
        for (let i = 0; i < n; i++) {
          const r = await c.request({ path: `/claimgate/sso?jwt=${bad}`, method: 'GET', headers: { accept: 'application/json' } });
          await r.body.dump();
          expect(r.statusCode).toBe(401);
        }
      }
      const scrapes = await Promise.all(Array.from({ length: 6 }, () => call(metricsUrl, { headers: { connection: 'close' } })));
      for (const s of scrapes) {
        expect(s.status).toBe(200);
        const body = s.text;
        expect(rejected(body) - before).toBe(13);
        // Per-process values stay apart, one series per worker.
        const workers = new Set([...body.matchAll(/^claimgate_process_resident_memory_bytes\{worker="(\d+)"\}/gm)].map((m) => m[1]));
        expect(workers).toEqual(new Set(['0', '1']));
        // Counters carry no worker label: one series for the instance.
        expect(body).not.toMatch(/^claimgate_logins_total\{[^}]*worker=/m);
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('SIGTERM stops the primary and its workers', async () => {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    await exited;
    await expect(call(`${url}/claimgate/health/live`)).rejects.toThrow();
  });
});

describe('claimgate start with two workers, database unreachable', () => {
  it('the primary reports the failed migration, stops the workers it forked and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-start-fail-'));
    try {
      writeFileSync(
        join(dir, 'claimgate.yaml'),
        `publicUrl: http://127.0.0.1:1
listen: { host: 127.0.0.1, port: 0, workers: 2 }
session: { secret: ${'z'.repeat(40)} }
upstream: { url: http://127.0.0.1:1 }
database: { url: 'postgres://postgres@127.0.0.1:1/nothing', connectionTimeoutMs: 1000 }
issuers: []
mappings: {}
`,
      );
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/app/cli/main.ts'), 'start', '--config', join(dir, 'claimgate.yaml')], {
        env: { ...process.env, DATABASE_URL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (b) => (output += b));
      child.stderr!.on('data', (b) => (output += b));
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect(output).toMatch(/claimgate start: /);
      expect(code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the Node options of a worker', () => {
  it('adds a small young generation unless the operator chose a size', () => {
    expect(workerExecArgv(['--import', 'tsx'])).toEqual(['--import', 'tsx', '--max-semi-space-size=2']);
    expect(workerExecArgv(['--max-semi-space-size=8'])).toEqual(['--max-semi-space-size=8']);
    expect(workerExecArgv([], '--max_semi_space_size=16 --enable-source-maps')).toEqual([]);
  });
});
