/**
 * `npm run bench`: claimgate against the baselines it must beat, all measured in this one run on this machine
 * (absolute numbers drift on shared machines; the ratios are what to read). Starts on loopback: a small upstream
 * (nginx, else Node), nginx as a plain proxy, a bare undici proxy (the Node limit), Apache + mod_oauth2 when
 * installed, and the gateway (PostgreSQL, listen.workers processes). Writes bench/results/*.md|json.
 *
 *   npm run bench                  the full run (10 s per load test, 1,000,000 users, a 10-minute soak)
 *   npm run bench -- --quick       a short run (3 s, 100,000 users, 20 s soak) to check the harness
 *   npm run bench -- --only a,b    some scenarios (a..g, s)
 *   npm run bench -- --rounds 5    interleaved rounds per throughput pair (default 3)
 *   npm run bench -- --profile a   also writes CPU profiles of the gateway's processes while scenario a runs
 *                                  (bench/results/profiles/*.cpuprofile; open them in Chrome DevTools, or read
 *                                  them with `node --import tsx bench/lib/profile-summary.ts FILE`)
 *   npm run bench -- --built       runs the gateway from the bundle `npm run build` makes (what the image ships) instead
 *                                  of through tsx; tsx's transpiler and source maps add ~70 MiB to every process,
 *                                  so the memory figures of g and s are only meaningful with --built
 *   npm run bench -- --node-flags=--max-semi-space-size=2
 *                                  Node/V8 flags for the gateway's processes (NODE_OPTIONS), to compare settings
 *   npm run bench -- --only g --heap-snapshot
 *                                  after the load scenarios, a heap snapshot of one worker and what retains its memory
 *                                  (under the results folder, heap/; bench/lib/heap-summary.ts reads any snapshot)
 *   npm run bench -- --only s --starts 7
 *                                  start-up: `claimgate start` until /health/ready answers 200, median of the starts
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import pg from 'pg';
import { request } from 'undici';
import { cpuMs, cpuOf, freePort, has, postgresPids, rssMiB, startProc, waitForPort, type Proc } from './lib/procs.js';
import { wrk, type LoadResult } from './lib/wrk.js';
import { fixedRate, runConcurrent, type LatencyResult } from './lib/client.js';
import { startApacheOauth2, startNginxProxy, startUpstream } from './lib/servers.js';
import { interleave, median, medianOf, type Interleaved } from './lib/interleave.js';
import { buildIdentityHeaders } from '../src/web/identity-headers.js';
import { formatSummary, summarise } from './lib/heap-summary.js';
import { buildBundle } from '../scripts/build.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    only: { type: 'string' },
    seconds: { type: 'string' },
    'soak-seconds': { type: 'string' },
    'large-users': { type: 'string' },
    rounds: { type: 'string' },
    profile: { type: 'string' },
    built: { type: 'boolean' },
    'node-flags': { type: 'string' },
    starts: { type: 'string' },
    'heap-snapshot': { type: 'boolean' },
  },
});
const QUICK = !!flags.quick;
const SECONDS = Number(flags.seconds ?? (QUICK ? 3 : 10));
const SOAK_SECONDS = Number(flags['soak-seconds'] ?? (QUICK ? 20 : 600));
const LARGE_USERS = Number(flags['large-users'] ?? (QUICK ? 100_000 : 1_000_000));
const ONLY = new Set((flags.profile ?? flags.only ?? 'a,b,c,d,e,f,g,s').split(','));
const STARTS = Math.max(1, Number(flags.starts ?? (QUICK ? 3 : 7)));
const ROUNDS = Math.max(1, Number(flags.rounds ?? 3));
const WARMUP_SECONDS = Math.min(3, SECONDS);
const CONNECTIONS = 64;
const ROOT = resolve(import.meta.dirname, '..');
const ISSUER = 'https://idp.bench.test';
const SECRET = 'b'.repeat(48);

interface Row {
  scenario: string;
  subject: string;
  rps?: number;
  p50ms?: number;
  p99ms?: number;
  errors?: number;
  baseline?: string;
  /** subject / baseline: throughput for load rows, latency for latency rows. */
  ratio?: number;
  note?: string;
}
const rows: Row[] = [];
const procs: Proc[] = [];
const log = (s: string) => process.stderr.write(`${s}\n`);

function record(scenario: string, subject: string, r: LoadResult | LatencyResult, extra: Partial<Row> = {}): Row {
  const row: Row = {
    scenario,
    subject,
    rps: 'rps' in r ? r.rps : r.rate,
    p50ms: r.p50ms,
    p99ms: r.p99ms,
    errors: 'errors' in r ? r.errors : undefined,
    ...extra,
  };
  rows.push(row);
  log(`  ${scenario} ${subject}: ${row.rps?.toFixed(0)}/s p50 ${row.p50ms?.toFixed(2)} ms p99 ${row.p99ms?.toFixed(2)} ms errors ${row.errors ?? 0}`);
  return row;
}
const ratioTo = (row: Row, base: Row | undefined, by: 'rps' | 'p50ms' = 'rps') => {
  if (!base || !base[by] || !row[by]) return;
  row.baseline = base.subject;
  row.ratio = row[by]! / base[by]!;
};

/** A load run with the CPU time its server's processes used per request (µs), from /proc. */
type Measured = LoadResult & { cpuUsPerRequest: number };

async function measured(pids: () => number[], load: () => Promise<LoadResult>): Promise<Measured> {
  const procs = pids();
  const before = cpuOf(procs);
  const r = await load();
  return { ...r, cpuUsPerRequest: ((cpuOf(procs) - before) * 1000) / Math.max(1, r.requests) };
}

/**
 * Records an interleaved pair: each side's median round, and the median ratio with its spread. With the CPU each
 * side's processes used per request: on a machine whose cores are all busy (load generator, upstream and proxy
 * share them), the throughput ratio follows from these.
 */
function recordPair(scenario: string, names: [string, string], pair: Interleaved<Measured>): Row {
  const b = record(scenario, `${names[0]} (median of ${pair.baseline.length})`, medianOf(pair.baseline, (r) => r.rps));
  const g = record(scenario, `${names[1]} (median of ${pair.subject.length})`, medianOf(pair.subject, (r) => r.rps));
  g.baseline = b.subject;
  g.ratio = pair.median;
  const cpu = (rs: Measured[]) => median(rs.map((r) => r.cpuUsPerRequest)).toFixed(0);
  g.note = `ratio per round ${pair.ratios.map((r) => r.toFixed(2)).join(', ')}; spread ${pair.min.toFixed(2)}–${pair.max.toFixed(2)}; CPU per request ${cpu(pair.subject)} µs against ${cpu(pair.baseline)} µs (median)`;
  log(`  ${scenario} CPU per request: ${names[1]} ${cpu(pair.subject)} µs, ${names[0]} ${cpu(pair.baseline)} µs`);
  return g;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'claimgate-bench-'));
  const adminUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `claimgate_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await admin.connect().catch((e: Error) => {
    throw new Error(`the benchmark needs PostgreSQL (DATABASE_URL or ${adminUrl}): ${e.message}`);
  });
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).href;
  const db = new pg.Client({ connectionString: dbUrl });
  try {
    const workers = Math.min(4, availableParallelism());
    log(`machine: ${availableParallelism()} cores; gateway workers: ${workers}; ${SECONDS}s per load test, ${CONNECTIONS} connections`);
    if (!has('wrk')) throw new Error('wrk is not installed (apt-get install wrk)');

    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'RS256', use: 'sig' };
    const sign = (claims: Record<string, unknown>, ttl = 3600) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ aud: 'claimgate', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'bench-1', typ: 'JWT' })
        .setIssuer(ISSUER)
        .setIssuedAt(now)
        .setExpirationTime(now + ttl)
        .sign(privateKey);
    };

    const upstream = await startUpstream(dir);
    procs.push(upstream.proc);
    const nginx = await startNginxProxy(dir, upstream.url, workers);
    if (nginx) procs.push(nginx.proc);
    const barePort = await freePort();
    const bare = startProc('bare undici proxy', process.execPath, ['--import', 'tsx', join(ROOT, 'bench/bare-proxy.ts'), String(barePort), upstream.url, String(workers)]);
    procs.push(bare);
    await waitForPort(barePort, 20_000, bare.child);
    const bareUrl = `http://127.0.0.1:${barePort}`;
    // The same, sending the app what claimgate sends it (identity headers with a signed assertion, request id,
    // X-Forwarded-*): the difference to claimgate is then its deciding, not the bytes.
    const bareIdPort = await freePort();
    const headersFile = join(dir, 'identity-headers.json');
    writeFileSync(headersFile, JSON.stringify(await identityHeadersLike('user-load')));
    const bareId = startProc('bare undici proxy with identity headers', process.execPath, ['--import', 'tsx', join(ROOT, 'bench/bare-proxy.ts'), String(bareIdPort), upstream.url, String(workers), headersFile]);
    procs.push(bareId);
    await waitForPort(bareIdPort, 20_000, bareId.child);
    const bareIdUrl = `http://127.0.0.1:${bareIdPort}`;
    let apache: { url: string; proc: Proc } | null = null;
    try {
      apache = await startApacheOauth2(dir, upstream.url, jwk, ISSUER);
      if (apache) procs.push(apache.proc);
    } catch (e) {
      log(`apache2 + mod_oauth2 not used: ${(e as Error).message.split('\n')[0]}`);
    }

    const gwPort = await freePort();
    const metricsPort = await freePort();
    const config = join(dir, 'claimgate.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        publicUrl: `http://127.0.0.1:${gwPort}`,
        listen: { host: '127.0.0.1', port: gwPort, workers },
        metrics: { listen: `127.0.0.1:${metricsPort}` },
        session: { secret: SECRET },
        upstream: { url: upstream.url },
        logs: { level: 'warn' },
        // The load generator is one client: the per-client abuse limits would cap the login scenarios.
        rateLimits: { sso: { perMinute: 10_000_000 }, token: { perMinute: 10_000_000 } },
        database: { poolMax: 8 },
        issuers: [
          {
            id: 'bench',
            issuer: ISSUER,
            audiences: ['claimgate'],
            keys: [jwk],
            algorithms: ['RS256'],
            ssoLink: { enabled: true, maxTokenAgeSeconds: 3600 },
            mapping: 'bench',
          },
        ],
        mappings: {
          bench: {
            user: { usercode: 'preferred_username', email: 'email', displayName: 'name' },
            roles: [{ from: 'groups', map: { 'bi-admins': 'admin', 'bi-analysts': 'analyst' } }, { default: ['viewer'] }],
            attributes: { region: 'regions' },
          },
        },
      }),
    );
    // Sources run through tsx (transpiled once at load), or with --built the bundle `npm run build` makes.
    const cli = flags.built ? await buildGateway() : ['--import', 'tsx', join(ROOT, 'src/app/cli/main.ts')];
    const profileDir = join(ROOT, 'bench/results/profiles');
    if (flags.profile) mkdirSync(profileDir, { recursive: true });
    const heapDir = join(ROOT, 'bench/results/heap');
    if (flags['heap-snapshot']) mkdirSync(heapDir, { recursive: true });
    const heapFlags = flags['heap-snapshot'] ? `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${heapDir}` : undefined;
    const nodeOptions = [process.env.NODE_OPTIONS, flags['node-flags'], heapFlags].filter(Boolean).join(' ');
    const gatewayEnv = { ...process.env, DATABASE_URL: dbUrl, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) };
    if (nodeOptions) log(`gateway NODE_OPTIONS: ${nodeOptions}`);
    // Every process (primary and workers: node:cluster forks with the primary's flags) writes its profile when it
    // exits at the end of the run. Node refuses --cpu-prof in NODE_OPTIONS, so it is a flag of the command.
    const profileFlags = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const gateway = startProc('claimgate', process.execPath, [...profileFlags, ...cli, 'start', '--config', config], gatewayEnv);
    procs.push(gateway);
    await waitForPort(gwPort, 60_000, gateway.child).catch((e: Error) => {
      throw new Error(`${e.message}\n${gateway.output()}`);
    });
    // Every worker is up once the primary and its workers exist and a request answers.
    await new Promise((r) => setTimeout(r, 1500));
    const gw = `http://127.0.0.1:${gwPort}`;
    const gwPids = () => gateway.pids();
    await db.connect();

    const claimsOf = (i: number | string) => ({
      sub: `sub-${i}`,
      preferred_username: `user-${i}`,
      email: `user-${i}@bench.test`,
      name: `User ${i}`,
      groups: ['bi-analysts'],
      regions: ['EU'],
    });
    const sso = async (jwt: string) => {
      const res = await request(`${gw}/claimgate/sso?jwt=${jwt}&return_to=/`);
      await res.body.dump();
      if (res.statusCode !== 303) throw new Error(`sign-in failed: ${res.statusCode}`);
      return String(res.headers['set-cookie']).split(';')[0]!;
    };
    const cookie = await sso(await sign({ ...claimsOf('load'), jti: randomUUID() }));
    const bearer = await sign(claimsOf('bearer'));
    // Warm the bearer path (first use maps and syncs the user) and every worker's caches.
    await runConcurrent(200, 8, () => ({ url: `${gw}/warm`, headers: { authorization: `Bearer ${bearer}`, cookie } }), (s) => s === 200);
    const load = (url: string, headers: Record<string, string> = {}) => wrk(url, { seconds: SECONDS, connections: CONNECTIONS, headers });

    const pair = (baseline: () => Promise<Measured>, subject: () => Promise<Measured>, warm: () => Promise<unknown>) =>
      interleave({ rounds: ROUNDS, warmup: warm, baseline, subject, value: (r) => r.rps });
    const warmLoad = (url: string, headers: Record<string, string> = {}) => wrk(url, { seconds: WARMUP_SECONDS, connections: CONNECTIONS, headers });

    if (ONLY.has('a')) {
      log(`a. session-cookie requests proxied (${ROUNDS} interleaved rounds after a warm-up)`);
      const direct = record('a', 'upstream direct', await load(`${upstream.url}/page`));
      if (nginx) ratioTo(record('a', 'nginx plain proxy', await load(`${nginx.url}/page`)), direct);
      const p = await pair(
        () => measured(() => bare.pids(), () => load(`${bareUrl}/page`)),
        () => measured(gwPids, () => load(`${gw}/page`, { cookie })),
        () => Promise.all([warmLoad(`${bareUrl}/page`), warmLoad(`${gw}/page`, { cookie })]),
      );
      recordPair('a', ['bare undici proxy (no auth)', 'claimgate (session cookie)'], p);
      const same = await pair(
        () => measured(() => bareId.pids(), () => load(`${bareIdUrl}/page`, { cookie })),
        () => measured(gwPids, () => load(`${gw}/page`, { cookie })),
        () => Promise.all([warmLoad(`${bareIdUrl}/page`, { cookie }), warmLoad(`${gw}/page`, { cookie })]),
      );
      recordPair('a', ['bare undici proxy sending the same headers (no auth)', 'claimgate (session cookie)'], same);
    }
    if (ONLY.has('b')) {
      log(`b. bearer-JWT requests proxied, token reused (${ROUNDS} interleaved rounds after a warm-up)`);
      const auth = { authorization: `Bearer ${bearer}` };
      if (nginx) record('b', 'nginx plain proxy', await load(`${nginx.url}/api`, auth));
      const baseUrl = apache ? `${apache.url}/api` : nginx ? `${nginx.url}/api` : `${bareUrl}/api`;
      const baseName = apache ? 'apache2 + mod_oauth2 (RS256)' : nginx ? 'nginx plain proxy (apache2 + mod_oauth2 not installed)' : 'bare undici proxy';
      const baseProc = apache ? apache.proc : nginx ? nginx.proc : bare;
      const p = await pair(
        () => measured(() => baseProc.pids(), () => load(baseUrl, auth)),
        () => measured(gwPids, () => load(`${gw}/api`, auth)),
        () => Promise.all([warmLoad(baseUrl, auth), warmLoad(`${gw}/api`, auth)]),
      );
      recordPair('b', [baseName, 'claimgate (bearer JWT)'], p);
      if (!apache) rows.push({ scenario: 'b', subject: 'apache2 + mod_oauth2', note: 'not installed (apt-get install apache2 libapache2-mod-oauth2)' });
    }
    if (ONLY.has('c')) {
      log(`c. added latency at 1,000 requests/s (${ROUNDS} interleaved rounds)`);
      const seconds = Math.max(3, SECONDS);
      const added: { p50: number; p99: number }[] = [];
      await fixedRate(`${gw}/c`, { rate: 1000, seconds: WARMUP_SECONDS, headers: { cookie } });
      let last: [LatencyResult, LatencyResult] | null = null;
      for (let i = 0; i < ROUNDS; i++) {
        const d = await fixedRate(`${upstream.url}/c`, { rate: 1000, seconds });
        const g = await fixedRate(`${gw}/c`, { rate: 1000, seconds, headers: { cookie } });
        added.push({ p50: g.p50ms - d.p50ms, p99: g.p99ms - d.p99ms });
        last = [d, g];
      }
      const med = (k: 'p50' | 'p99') => [...added.map((a) => a[k])].sort((x, y) => x - y)[Math.floor(added.length / 2)]!;
      record('c', 'upstream direct @1000/s (last round)', last![0]);
      const g = record('c', 'claimgate session @1000/s (last round)', last![1]);
      g.note = `adds ${med('p50').toFixed(2)} ms at p50, ${med('p99').toFixed(2)} ms at p99 (median of ${ROUNDS} rounds; p99 per round ${added.map((a) => a.p99.toFixed(2)).join(', ')})`;
    }
    const writes = async () => {
      // Statistics reach pg_stat after the backends report them (at most ~1 s late).
      await new Promise((r) => setTimeout(r, 1200));
      await db.query('SELECT pg_stat_clear_snapshot()');
      const r = await db.query(`SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint AS n FROM pg_stat_user_tables`);
      return Number(r.rows[0].n);
    };
    // Database statements the gateway ran (each one a round trip), summed over its workers by the metrics scrape.
    const statements = async () => {
      const res = await request(`http://127.0.0.1:${metricsPort}/metrics`);
      const text = await res.body.text();
      return [...text.matchAll(/^claimgate_db_query_duration_seconds_count\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const loginRun = async (scenario: string, subject: string, ids: (number | string)[], concurrency = 16) => {
      const tokens = await Promise.all(ids.map((i) => sign({ ...claimsOf(i), jti: randomUUID() }, 600)));
      const before = await writes();
      const stmtsBefore = await statements();
      // Where the machine's CPU goes per login: the gateway's processes, PostgreSQL's, and this process (the client).
      const gwProcs = gateway.pids();
      const pgBefore = new Map(postgresPids().map((pid) => [pid, cpuMs(pid)]));
      const cpu0 = { gw: cpuOf(gwProcs), client: process.cpuUsage() };
      const r = await runConcurrent(tokens.length, concurrency, (i) => ({ url: `${gw}/claimgate/sso?jwt=${tokens[i]}&return_to=/` }), (s) => s === 303);
      const client = process.cpuUsage(cpu0.client);
      const per = (ms: number) => ms / ids.length;
      // PostgreSQL starts a process per new connection: one that began during the run counts whole.
      const pgCpu = postgresPids().reduce((sum, pid) => sum + cpuMs(pid) - (pgBefore.get(pid) ?? 0), 0);
      const cpu = { gw: per(cpuOf(gwProcs) - cpu0.gw), pg: per(pgCpu), client: per((client.user + client.system) / 1000) };
      const total = cpu.gw + cpu.pg + cpu.client;
      const stmtsAfter = await statements();
      const after = await writes();
      log(`  ${scenario} CPU per login: gateway ${cpu.gw.toFixed(2)} ms, PostgreSQL ${cpu.pg.toFixed(2)} ms, client ${cpu.client.toFixed(2)} ms`);
      return record(scenario, subject, r, {
        note:
          `${((after - before) / ids.length).toFixed(1)} row writes and ${((stmtsAfter - stmtsBefore) / ids.length).toFixed(1)} database round trips per login; ` +
          `CPU per login: gateway ${cpu.gw.toFixed(2)} ms, PostgreSQL ${cpu.pg.toFixed(2)} ms, client ${cpu.client.toFixed(2)} ms ` +
          `(${total.toFixed(2)} ms: at most ${Math.round((availableParallelism() * 1000) / total)} logins/s on ${availableParallelism()} cores)`,
      });
    };
    const N = QUICK ? 300 : 2000;
    if (ONLY.has('d')) {
      log('d. SSO logins');
      const ids = Array.from({ length: N }, (_, i) => `d${i}`);
      const first = await loginRun('d', `first logins of ${N} new users`, ids);
      const again = await loginRun('d', `returning users, unchanged claims`, ids);
      ratioTo(again, first);
    }
    if (ONLY.has('e')) {
      log('e. login latency vs user count');
      const count = async () => Number((await db.query('SELECT count(*)::int AS n FROM users')).rows[0].n);
      const fill = async (target: number) => {
        const have = await count();
        if (have >= target) return;
        await db.query(
          `INSERT INTO users (id, usercode, email, display_name, created_at, updated_at)
           SELECT 'bulk' || lpad(g::text, 22, '0'), 'bulk-' || g, 'bulk-' || g || '@bench.test', 'Bulk ' || g, now(), now()
           FROM generate_series($1::int, $2::int) g`,
          [have + 1, target],
        );
        await db.query('ANALYZE');
      };
      const sample = QUICK ? 100 : 500;
      await fill(1000);
      const small = await loginRun('e', `logins at ${await count()} users`, Array.from({ length: sample }, (_, i) => `e1-${i}`), 1);
      log(`  filling to ${LARGE_USERS} users ...`);
      await fill(LARGE_USERS);
      const large = await loginRun('e', `logins at ${await count()} users`, Array.from({ length: sample }, (_, i) => `e2-${i}`), 1);
      ratioTo(large, small, 'p50ms');
    }
    if (ONLY.has('f')) {
      log('f. SCIM');
      const probe = await request(`${gw}/claimgate/scim/v2/ServiceProviderConfig`);
      await probe.body.dump();
      if (probe.statusCode === 404) {
        rows.push({ scenario: 'f', subject: 'SCIM', note: 'SCIM is not available in this build' });
      } else {
        const created = JSON.parse(
          execFileSync(process.execPath, [...cli, 'tokens', 'create', '--name', `bench-${Date.now()}`, '--scopes', 'scim', '--json', '--config', config], {
            env: { ...process.env, DATABASE_URL: dbUrl },
          }).toString(),
        ) as { token: string };
        const headers = { authorization: `Bearer ${created.token}`, 'content-type': 'application/scim+json' };
        const total = QUICK ? 300 : 2000;
        const post = await runConcurrent(
          total,
          16,
          (i) => ({
            url: `${gw}/claimgate/scim/v2/Users`,
            method: 'POST',
            headers,
            body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `scim-${i}-${Date.now()}@bench.test`, active: true, name: { givenName: 'S', familyName: `${i}` } }),
          }),
          (s) => s === 201,
        );
        record('f', `POST /Users (${total})`, post);
        const users = Number((await db.query('SELECT count(*)::int AS n FROM users')).rows[0].n);
        const target = `bulk-${Math.floor(users / 2)}`;
        const filter = await runConcurrent(
          QUICK ? 100 : 500,
          1,
          () => ({ url: `${gw}/claimgate/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${target}"`)}`, headers }),
          (s) => s === 200,
        );
        record('f', `filter=userName eq at ${users} users`, filter);
      }
    }
    if (ONLY.has('g')) {
      log(`g. mixed soak for ${SOAK_SECONDS}s (RSS per process every 10 s)`);
      const samples: { t: number; rss: Record<string, number | null> }[] = [];
      const pids = gateway.pids();
      const sampleRss = () => samples.push({ t: Math.round((Date.now() - t0) / 1000), rss: Object.fromEntries(pids.map((p) => [String(p), rssMiB(p)])) });
      const t0 = Date.now();
      sampleRss();
      const timer = setInterval(sampleRss, 10_000);
      let i = 0;
      const perRound = 500;
      let served = 0;
      let errors = 0;
      while (Date.now() - t0 < SOAK_SECONDS * 1000) {
        const logins = await Promise.all(Array.from({ length: 5 }, () => sign({ ...claimsOf(`g${i++ % 5000}`), jti: randomUUID() }, 600)));
        const r = await runConcurrent(
          perRound,
          32,
          (k): { url: string; headers?: Record<string, string> } =>
            k < logins.length
              ? { url: `${gw}/claimgate/sso?jwt=${logins[k]}` }
              : k % 10 === 0
                ? { url: `${gw}/api/${k}`, headers: { authorization: `Bearer ${bearer}` } }
                : { url: `${gw}/page/${k}`, headers: { cookie } },
          (s) => s === 200 || s === 303,
        );
        served += r.count;
        errors += r.errors;
      }
      clearInterval(timer);
      sampleRss();
      const first = samples[0]!;
      const last = samples[samples.length - 1]!;
      for (const p of pids) {
        rows.push({
          scenario: 'g',
          subject: `RSS pid ${p} (${p === pids[0] ? 'primary' : processKind(p)})`,
          note: `${first.rss[String(p)]} MiB at start, ${last.rss[String(p)]} MiB after ${last.t}s; samples: ${samples.map((s) => s.rss[String(p)]).join(' ')}`,
        });
      }
      rows.push({ scenario: 'g', subject: 'soak requests', rps: served / SOAK_SECONDS, errors, note: `${served} requests (90% session, 9% bearer, 1% logins)` });
    }
    if (flags['heap-snapshot']) {
      const worker = gateway.pids()[1];
      if (worker === undefined) throw new Error('no gateway worker to snapshot');
      log(`heap snapshot of worker ${worker} ...`);
      const before = new Set(readdirSync(heapDir));
      process.kill(worker, 'SIGUSR2');
      let file: string | undefined;
      for (let size = -1, t0 = Date.now(); Date.now() - t0 < 120_000; await new Promise((r) => setTimeout(r, 500))) {
        file ??= readdirSync(heapDir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
        if (!file) continue;
        const now = statSync(join(heapDir, file)).size;
        if (now > 0 && now === size) break;
        size = now;
      }
      if (!file) throw new Error('the worker wrote no heap snapshot');
      const text = formatSummary(summarise(join(heapDir, file)));
      writeFileSync(join(heapDir, `${file}.txt`), `${text}\n`);
      log(text);
      rows.push({ scenario: 'heap', subject: `worker ${worker}`, note: `${text.split('\n')[0]}; bench/results/heap/${file}.txt` });
    }
    if (ONLY.has('s')) {
      log(`s. start-up: ${STARTS} starts of \`claimgate start\` (${workers} workers, PostgreSQL, migrations already applied)`);
      const times: number[] = [];
      const cpus: number[] = [];
      const rss: number[] = [];
      for (let n = 0; n < STARTS; n++) {
        const port = await freePort();
        const cfg = join(dir, `startup-${n}.yaml`);
        const conf = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
        writeFileSync(cfg, JSON.stringify({ ...conf, publicUrl: `http://127.0.0.1:${port}`, listen: { host: '127.0.0.1', port, workers }, metrics: undefined }));
        const t0 = performance.now();
        const p = startProc('claimgate start-up', process.execPath, [...cli, 'start', '--config', cfg], gatewayEnv);
        try {
          for (;;) {
            if (p.child.exitCode !== null) throw new Error(`claimgate exited with ${p.child.exitCode}\n${p.output()}`);
            const ok = await request(`http://127.0.0.1:${port}/claimgate/health/ready`).then(
              async (r) => (await r.body.dump(), r.statusCode === 200),
              () => false,
            );
            if (ok) break;
            if (performance.now() - t0 > 60_000) throw new Error(`not ready after 60 s\n${p.output()}`);
            await new Promise((r) => setTimeout(r, 5));
          }
          times.push(performance.now() - t0);
          // CPU the processes spent until then: on an idle machine with enough cores, the wall time's floor.
          const pids = p.pids();
          cpus.push(pids.reduce((sum, pid) => sum + cpuMs(pid), 0));
          await new Promise((r) => setTimeout(r, 1000));
          rss.push(...pids.slice(1).map((pid) => rssMiB(pid) ?? 0));
        } finally {
          await p.stop();
        }
      }
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      rows.push({
        scenario: 's',
        subject: `claimgate start until /health/ready (median of ${STARTS})`,
        p50ms: med(times),
        note: `each start ${times.map((t) => t.toFixed(0)).join(', ')} ms; CPU of its processes until ready ${med(cpus).toFixed(0)} ms (median); worker RSS 1 s after ready ${med(rss)} MiB (median)${flags.built ? '' : ' (through tsx: run with --built for what ships)'}`,
      });
      log(`  s start-up: median ${med(times).toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(', ')}), CPU ${med(cpus).toFixed(0)} ms`);
    }
  } finally {
    for (const p of procs.reverse()) await p.stop().catch(() => undefined);
    await db.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  report();
}

/**
 * Identity headers of the size claimgate sends for a bench user: built by the gateway's own function around an
 * ES256 assertion with the claims the gateway signs.
 */
async function identityHeadersLike(usercode: string): Promise<Record<string, string>> {
  const { privateKey } = await generateKeyPair('ES256');
  const userId = '01JBENCH0000000000000000AB';
  const identity = { userId, usercode, email: `${usercode}@bench.test`, displayName: 'User load', roles: ['analyst'], permissions: [] as string[] };
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ usercode, email: identity.email, name: identity.displayName, roles: identity.roles, permissions: [], attributes: { region: ['EU'] } })
    .setProtectedHeader({ alg: 'ES256', typ: 'claimgate-assertion+jwt', kid: 'x'.repeat(43) })
    .setIssuer('http://127.0.0.1:8080')
    .setAudience('analytics-app')
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(privateKey);
  const names = { user: 'X-Claimgate-User', userId: 'X-Claimgate-User-Id', email: 'X-Claimgate-Email', name: 'X-Claimgate-Name', roles: 'X-Claimgate-Roles', permissions: 'X-Claimgate-Permissions', assertion: 'X-Claimgate-Assertion' };
  return buildIdentityHeaders(identity, names, assertion);
}

/**
 * Builds the gateway as `npm run build` does (scripts/build.ts) into a `build` folder under the bench results, with
 * migrations/ and package.json beside its dist/ as in the image, and returns the arguments that run its CLI.
 */
async function buildGateway(): Promise<string[]> {
  const out = join(ROOT, 'bench/results/build');
  rmSync(out, { recursive: true, force: true });
  log('building the gateway as `npm run build` does (--built) ...');
  await buildBundle(out);
  cpSync(join(ROOT, 'migrations'), join(out, 'migrations'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(out, 'package.json'));
  return [join(out, 'dist/app/cli/main.js')];
}

/** What a child of the gateway process is: a cluster worker, or a helper process (tsx's esbuild service). */
function processKind(pid: number): string {
  try {
    const cmd = execFileSync('cat', [`/proc/${pid}/cmdline`]).toString().replace(/\0/g, ' ');
    return cmd.includes('main.ts') || cmd.includes('main.js') ? 'worker' : cmd.split(' ')[0]!.split('/').pop()!;
  } catch {
    return 'gone';
  }
}

function report(): void {
  const f = (v: number | undefined, d = 0) => (v === undefined || Number.isNaN(v) ? '' : v.toFixed(d));
  const lines = [
    `# claimgate benchmark (${new Date().toISOString()}, ${availableParallelism()} cores${QUICK ? ', quick run' : ''})`,
    '',
    '| scenario | subject | req/s | p50 ms | p99 ms | errors | ratio | baseline | note |',
    '|---|---|---:|---:|---:|---:|---:|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${r.subject} | ${f(r.rps)} | ${f(r.p50ms, 2)} | ${f(r.p99ms, 2)} | ${r.errors ?? ''} | ${f(r.ratio, 2)} | ${r.baseline ?? ''} | ${r.note ?? ''} |`),
    '',
    'Ratios: throughput rows divide req/s by the baseline\'s (a, b: the median of the interleaved rounds\' ratios, with their spread); latency rows (e) divide p50 by the baseline\'s.',
  ];
  const md = lines.join('\n');
  const out = join(ROOT, 'bench/results');
  mkdirSync(out, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(out, `bench-${stamp}.md`), `${md}\n`);
  writeFileSync(join(out, `bench-${stamp}.json`), JSON.stringify({ quick: QUICK, seconds: SECONDS, rows }, null, 2));
  process.stdout.write(`${md}\n\nwritten: bench/results/bench-${stamp}.{md,json}\n`);
}

main().catch(async (e: unknown) => {
  for (const p of procs.reverse()) await p.stop().catch(() => undefined);
  process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
