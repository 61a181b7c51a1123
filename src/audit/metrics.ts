import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { GatewayError, TokenError } from '../errors.js';
import type { LoginService } from '../login/login-service.js';
import type { UpstreamProxy } from '../forwarding/proxy.js';

/** The outcome label of `claimgate_logins_total`. */
export type LoginOutcome = 'success' | 'denied' | 'rejected' | 'error';

/** tarn's pool as knex exposes it (PostgreSQL); PGlite has none or a trivial one. */
interface PoolLike {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

/**
 * Prometheus metrics of one gateway (one registry per gateway, so tests can run several in a process). Label
 * values are bounded: issuer ids from the configuration, stable error codes, status classes. Each worker of
 * `claimgate start` has its own registry; a scrape sees the worker that answered it.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly logins: Counter<'issuer' | 'outcome' | 'method'>;
  readonly tokenRejections: Counter<'code'>;
  readonly proxyLatency: Histogram<'status'>;

  constructor(opts: { knex?: Knex; issuers?: { id: string; issuer: string }[] } = {}) {
    this.issuers = new Map((opts.issuers ?? []).map((i) => [i.issuer, i.id]));
    this.logins = new Counter({
      name: 'claimgate_logins_total',
      help: 'Sign-ins (SSO link, bearer, OIDC) by issuer and outcome: success, denied (403), rejected (token refused), error.',
      labelNames: ['issuer', 'outcome', 'method'],
      registers: [this.registry],
    });
    this.tokenRejections = new Counter({
      name: 'claimgate_token_rejections_total',
      help: 'Tokens refused at sign-in, by stable error code (token_expired, signature_invalid, jti_replayed...).',
      labelNames: ['code'],
      registers: [this.registry],
    });
    this.proxyLatency = new Histogram({
      name: 'claimgate_proxy_request_duration_seconds',
      help: 'Time from the gateway receiving a proxied request to the last byte of the answer, by status class.',
      labelNames: ['status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
    const pool = () => (opts.knex?.client as { pool?: Partial<PoolLike> } | undefined)?.pool;
    const num = (f: (() => number) | undefined, p: Partial<PoolLike>) => (typeof f === 'function' ? f.call(p) : 0);
    new Gauge({
      name: 'claimgate_db_pool_connections',
      help: 'Database pool connections by state (used, free, pending acquires, pending creates).',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const p = pool();
        if (!p) return;
        this.set({ state: 'used' }, num(p.numUsed, p));
        this.set({ state: 'free' }, num(p.numFree, p));
        this.set({ state: 'pending_acquire' }, num(p.numPendingAcquires, p));
        this.set({ state: 'pending_create' }, num(p.numPendingCreates, p));
      },
    });
  }

  private readonly issuers: Map<string, string>;

  /** The configured issuer id a token claims to come from (unverified, for a label only), else `unknown`. */
  issuerLabel(token: string): string {
    try {
      const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown };
      return (typeof payload.iss === 'string' && this.issuers.get(payload.iss)) || 'unknown';
    } catch {
      return 'unknown';
    }
  }

  /**
   * Counts every sign-in of the login pipeline and every token it refuses, by wrapping the service's two entry
   * points (so neither the pipeline nor its callers need to know about metrics).
   */
  instrumentLogin(login: LoginService): void {
    const withClaims = login.loginWithClaims.bind(login);
    const withToken = login.loginWithToken.bind(login);
    const counted = new WeakSet<object>();
    login.loginWithClaims = async (issuer, claims, purpose) => {
      try {
        const r = await withClaims(issuer, claims, purpose);
        this.logins.inc({ issuer: issuer.id, outcome: 'success', method: purpose });
        return r;
      } catch (e) {
        this.logins.inc({ issuer: issuer.id, outcome: outcomeOf(e), method: purpose });
        if (typeof e === 'object' && e !== null) counted.add(e);
        throw e;
      }
    };
    login.loginWithToken = async (token, purpose) => {
      try {
        return await withToken(token, purpose);
      } catch (e) {
        if (typeof e === 'object' && e !== null && counted.has(e)) throw e;
        if (e instanceof TokenError) this.tokenRejections.inc({ code: e.code });
        this.logins.inc({ issuer: this.issuerLabel(token), outcome: outcomeOf(e), method: purpose });
        throw e;
      }
    };
  }

  /** Times every proxied request until its answer is finished (or the connection closes). */
  instrumentProxy(proxy: UpstreamProxy): void {
    const forward = proxy.forward.bind(proxy);
    proxy.forward = (req, res, headers) => {
      const end = this.proxyLatency.startTimer();
      res.once('close', () => end({ status: `${Math.floor(res.statusCode / 100)}xx` }));
      return forward(req, res, headers);
    };
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

function outcomeOf(e: unknown): LoginOutcome {
  if (e instanceof TokenError) return 'rejected';
  if (e instanceof GatewayError && e.status < 500) return e.status === 401 ? 'rejected' : 'denied';
  return 'error';
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
