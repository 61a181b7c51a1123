import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Outcomes } from './outcomes.js';

/** tarn's pool as knex exposes it (PostgreSQL); PGlite has none or a trivial one. */
interface PoolLike {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

/** Latency buckets in seconds, from a cached bearer check (sub-millisecond) to a slow upstream. */
const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface GatewayMetricsOptions {
  knex?: Knex;
  /**
   * Where a scrape's document comes from. A worker of a multi-process instance asks the primary for the sum over
   * all workers (see `cluster-metrics.ts`); a single process renders its own registry.
   */
  source?: () => Promise<string>;
  /** Set on a worker of a multi-process instance: per-process metrics (memory, event-loop lag) carry it. */
  worker?: string;
}

/**
 * Prometheus metrics of one gateway (one registry per gateway, so tests can run several in a process). Label
 * values are bounded: issuer ids from the configuration, stable error codes, status classes, fixed method
 * names; never a path, a usercode or an unverified issuer string.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly logins: Counter<'issuer' | 'outcome' | 'method'>;
  readonly tokenRejections: Counter<'code'>;
  readonly loginLatency: Histogram<'issuer' | 'method' | 'outcome'>;
  readonly mappingLatency: Histogram<'issuer'>;
  readonly dbLatency: Histogram<'outcome'>;
  readonly proxyLatency: Histogram<'status'>;
  private readonly source?: () => Promise<string>;

  constructor(opts: GatewayMetricsOptions = {}) {
    this.source = opts.source;
    const registers = [this.registry];
    this.logins = new Counter({
      name: 'claimgate_logins_total',
      help: 'Sign-ins (SSO link, bearer, OIDC) by issuer and outcome: success, denied (403), rejected (token refused), error.',
      labelNames: ['issuer', 'outcome', 'method'],
      registers,
    });
    this.tokenRejections = new Counter({
      name: 'claimgate_token_rejections_total',
      help: 'Tokens refused at sign-in, by stable error code (token_expired, signature_invalid, jti_replayed...).',
      labelNames: ['code'],
      registers,
    });
    this.loginLatency = new Histogram({
      name: 'claimgate_login_duration_seconds',
      help: 'Time of one sign-in through the login pipeline (verification, key fetch, mapping, user sync), by outcome.',
      labelNames: ['issuer', 'method', 'outcome'],
      buckets: SECONDS,
      registers,
    });
    this.mappingLatency = new Histogram({
      name: 'claimgate_mapping_duration_seconds',
      help: 'Time to evaluate an issuer\'s claim mapping at sign-in.',
      labelNames: ['issuer'],
      buckets: [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
      registers,
    });
    this.dbLatency = new Histogram({
      name: 'claimgate_db_query_duration_seconds',
      help: 'Time of each database statement the gateway runs, by outcome (ok, error).',
      labelNames: ['outcome'],
      buckets: SECONDS,
      registers,
    });
    this.proxyLatency = new Histogram({
      name: 'claimgate_proxy_request_duration_seconds',
      help: 'Time from the gateway receiving a proxied request to the last byte of the answer, by status class.',
      labelNames: ['status'],
      buckets: SECONDS,
      registers,
    });
    const pool = () => (opts.knex?.client as { pool?: Partial<PoolLike> } | undefined)?.pool;
    const num = (f: (() => number) | undefined, p: Partial<PoolLike>) => (typeof f === 'function' ? f.call(p) : 0);
    new Gauge({
      name: 'claimgate_db_pool_connections',
      help: 'Database pool connections by state (used, free, pending acquires, pending creates), summed over workers.',
      labelNames: ['state'],
      registers,
      collect() {
        const p = pool();
        if (!p) return;
        this.set({ state: 'used' }, num(p.numUsed, p));
        this.set({ state: 'free' }, num(p.numFree, p));
        this.set({ state: 'pending_acquire' }, num(p.numPendingAcquires, p));
        this.set({ state: 'pending_create' }, num(p.numPendingCreates, p));
      },
    });
    // Memory, CPU, event-loop lag and handles mean something per process: the worker label keeps them apart when
    // a scrape sums the workers.
    collectDefaultMetrics({ register: this.registry, prefix: 'claimgate_', labels: { worker: opts.worker ?? '0' }, eventLoopMonitoringPrecision: 20 });
    if (opts.knex) this.timeQueries(opts.knex);
  }

  /** Counts and times sign-ins and proxied requests from the gateway's outcome hooks. */
  observe(outcomes: Outcomes): void {
    outcomes.onLogin((e) => {
      this.logins.inc({ issuer: e.issuer, outcome: e.outcome, method: e.method });
      this.loginLatency.observe({ issuer: e.issuer, method: e.method, outcome: e.outcome }, e.seconds);
      if (e.mappingSeconds !== undefined) this.mappingLatency.observe({ issuer: e.issuer }, e.mappingSeconds);
      if (e.outcome === 'rejected' && e.code) this.tokenRejections.inc({ code: e.code });
    });
    // One child per status class, looked up once: labelled observe() hashes its label object on every request.
    const byClass = new Map<number, { observe(seconds: number): void }>();
    outcomes.onProxy((e) => {
      const cls = Math.floor(e.status / 100);
      let child = byClass.get(cls);
      if (!child) byClass.set(cls, (child = this.proxyLatency.labels({ status: `${cls}xx` })));
      child.observe(e.seconds);
    });
  }

  /** Times every statement through knex's query events (uids pair a query with its answer). */
  private timeQueries(knex: Knex): void {
    const started = new Map<string, number>();
    const finish = (outcome: 'ok' | 'error') => (_x: unknown, q: { __knexQueryUid?: string }) => {
      const uid = q?.__knexQueryUid;
      if (uid === undefined) return;
      const t = started.get(uid);
      if (t === undefined) return;
      started.delete(uid);
      this.dbLatency.observe({ outcome }, (performance.now() - t) / 1000);
    };
    knex.on('query', (q: { __knexQueryUid?: string }) => {
      if (q.__knexQueryUid !== undefined) started.set(q.__knexQueryUid, performance.now());
    });
    knex.on('query-response', finish('ok'));
    knex.on('query-error', finish('error'));
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const body = this.source ? await this.source() : await this.registry.metrics();
    return { contentType: this.registry.contentType, body };
  }
}

/** Writes the metrics document (used by the main port's route and the separate listener). */
export async function writeMetrics(metrics: GatewayMetrics, res: ServerResponse): Promise<void> {
  const { contentType, body } = await metrics.render();
  res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The separate, open metrics listener (`metrics.listen: host:port`): answers `GET /metrics` (and the main port's
 * `<basePath>/metrics`) and nothing else. Meant for an address only the monitoring network reaches.
 */
export async function startMetricsListener(metrics: GatewayMetrics, listen: string, basePath: string): Promise<Server> {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(i + 1));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method === 'GET' || req.method === 'HEAD') && (path === '/metrics' || path === `${basePath}/metrics`)) {
      writeMetrics(metrics, res).catch(() => {
        res.writeHead(500).end();
      });
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
