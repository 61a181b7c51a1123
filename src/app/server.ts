import cluster from 'node:cluster';
import { createServer, type Server } from 'node:http';
import { availableParallelism } from 'node:os';
import type { Config } from '../core/config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Gateway, GatewayOptions } from './gateway.js';
import { joinClusterMetrics, servePrimaryMetrics, workerMetricsSource } from '../observability/cluster-metrics.js';

export interface RunningServer {
  server: Server;
  gateway: Gateway;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts one gateway process listening on config.listen (port 0 picks a free port: tests). In-flight
 * requests finish on close; new connections are refused.
 */
export async function startServer(config: Config, opts: GatewayOptions): Promise<RunningServer> {
  // Loaded here, not at the top: the primary of a multi-process instance only migrates and forks, so it never loads
  // the gateway's modules (it starts its workers sooner and stays small).
  const { createGateway } = await import('./gateway.js');
  const gateway = await createGateway(config, opts);
  // A whole-request limit would cut long proxied uploads, so it is off unless configured; gateway endpoints have
  // their own body deadline (web/body-deadline.ts). Node requires headersTimeout <= requestTimeout when both are set.
  const requestTimeout = config.limits.requestTimeoutSeconds * 1000;
  const headersTimeout = requestTimeout > 0 ? Math.min(config.limits.headersTimeoutSeconds * 1000, requestTimeout) : config.limits.headersTimeoutSeconds * 1000;
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout, headersTimeout, maxHeaderSize: 32 * 1024 }, gateway.handler);
  server.on('upgrade', gateway.upgrade);
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.listen.port;
  const host = config.listen.host === '0.0.0.0' || config.listen.host === '::' ? '127.0.0.1' : config.listen.host;
  return {
    server,
    gateway,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Upgraded connections (WebSockets) are no longer the HTTP server's to close.
        gateway.upgrade.closeAll();
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
      await gateway.close();
    },
  };
}

/**
 * The Node options of a worker: the primary's, plus a young generation of 2 MiB semi-spaces (V8's default grows to
 * 16 MiB). A worker's garbage is short-lived request data, so the small nursery costs little throughput and saves
 * about 25 MiB of resident memory per worker (bench/run.ts, scenarios a and g with --node-flags). An operator's own
 * `--max-semi-space-size`, on the command line or in NODE_OPTIONS, wins.
 */
export function workerExecArgv(execArgv: string[], nodeOptions = ''): string[] {
  const set = (s: string) => /--max[-_]semi[-_]space[-_]size/.test(s);
  return execArgv.some(set) || set(nodeOptions) ? execArgv : [...execArgv, '--max-semi-space-size=2'];
}

const MIGRATIONS_ASKED = 'migrations?';
const MIGRATIONS_APPLIED = 'migrations applied';

/** Applies pending migrations (the primary of a multi-process instance, before its workers open their gateways). */
async function migrate(config: Config): Promise<void> {
  if (config.database.url) {
    const { allMigrationsApplied } = await import('../store/db/migration-check.js');
    if (await allMigrationsApplied(config.database)) return;
  }
  const { openDatabase } = await import('../store/db/index.js');
  const db = await openDatabase(config.database);
  try {
    await db.migrate();
  } finally {
    await db.close();
  }
}

/** In a worker: resolves when the primary says the migrations are applied. */
function migrationsApplied(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if ((message as { claimgate?: string })?.claimgate !== MIGRATIONS_APPLIED) return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    process.send?.({ claimgate: MIGRATIONS_ASKED });
  });
}

/** Said at start-up (and on SIGHUP): what a change of the configuration file needs. */
export const CONFIG_RELOAD =
  'restart to apply changes of the configuration file (issuers, mappings, routes); mappings saved through the admin API apply at once';

/** How many processes `start` runs: listen.workers, else the cores (max 4); always 1 on the embedded database. */
export function workerCount(config: Config): number {
  if (!config.database.url) return 1;
  return config.listen.workers ?? Math.min(4, availableParallelism());
}

/**
 * `claimgate start`: the primary forks workers that share the port (node:cluster); each worker is a
 * whole gateway, and the invalidation bus keeps their caches in step. A crashed worker is replaced.
 */
export async function runServer(config: Config, logger: Logger, opts: Omit<GatewayOptions, 'logger'> = {}): Promise<void> {
  const workers = workerCount(config);
  if (workers > 1 && cluster.isPrimary) {
    // The workers load their modules while the primary applies the migrations; each asks, and opens its gateway once
    // they are applied (start-up takes the longer of the two, not their sum).
    const migrated = config.database.migrate ? migrate(config) : Promise.resolve();
    migrated.catch(() => undefined);
    cluster.on('message', (w, message: unknown) => {
      if ((message as { claimgate?: string })?.claimgate !== MIGRATIONS_ASKED) return;
      migrated.then(
        () => w.isConnected() && w.send({ claimgate: MIGRATIONS_APPLIED }),
        () => undefined,
      );
    });
    let stopping = false;
    cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
    for (let i = 0; i < workers; i++) cluster.fork({ CLAIMGATE_WORKER: String(i) });
    cluster.on('exit', (w, code, signal) => {
      if (stopping) return;
      logger.error('worker exited; starting another', { pid: w.process.pid, code, signal });
      cluster.fork();
    });
    const stop = () => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    try {
      await migrated;
    } catch (e) {
      stop();
      throw e;
    }
    servePrimaryMetrics();
    logger.info('claimgate started', { workers, port: config.listen.port, publicUrl: config.publicUrl, configReload: CONFIG_RELOAD });
    process.on('SIGHUP', () => logger.warn('SIGHUP ignored: configuration reload is not supported', { configReload: CONFIG_RELOAD }));
    return;
  }
  const isWorker = cluster.isWorker;
  if (isWorker) {
    // Modules load while the primary may still be migrating (the answer comes once the migrations are applied).
    await Promise.all([import('./gateway.js'), migrationsApplied()]);
  }
  const effective = isWorker ? { ...config, database: { ...config.database, migrate: false } } : config;
  const perWorker = isWorker ? { metricsSource: workerMetricsSource(), worker: process.env.CLAIMGATE_WORKER ?? String(cluster.worker?.id ?? 0) } : {};
  const running = await startServer(effective, { ...opts, ...perWorker, logger });
  if (isWorker) joinClusterMetrics(running.gateway.parts.metrics.registry);
  if (!isWorker) logger.info('claimgate started', { url: running.url, publicUrl: config.publicUrl, workers: 1, configReload: CONFIG_RELOAD });
  // SIGHUP would end the process by default; there is no reload to do, so say how changes are applied instead.
  process.on('SIGHUP', () => logger.warn('SIGHUP ignored: configuration reload is not supported', { configReload: CONFIG_RELOAD }));
  const shutdown = (signal: string) => {
    logger.info('shutting down', { signal });
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
