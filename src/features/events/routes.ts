import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { noteRequestError } from '../../observability/exception-log.js';
import type { Knex } from 'knex';
import type { Registry } from 'prom-client';
import type { Config } from '../../core/config/schema.js';
import type { InvalidationBus } from '../../core/cache/invalidation.js';
import type { Logger } from '../../observability/logger.js';
import type { Feature } from '../../web/feature.js';
import type { RateLimits } from '../../web/rate-limit.js';
import { EventPushError, internal, sendPushError } from './errors.js';
import { ERROR_TABLE } from '../../core/errors/table.js';
import { EventReceiver } from './receiver.js';
import { interruptOpenRun } from './full-sync.js';
import type { EventsConfig } from './subjects.js';
import { EventVerifier } from './verify.js';
import { Gauge } from 'prom-client';
import type { Tracing } from '../../observability/tracing.js';
import { EventQueueWorker } from './queue-worker.js';
import { queueStatus } from '../../store/event-queue.js';
import { compileTrustedProxies, resolveClient } from '../../web/client-ip.js';

/** What the change-event receiver uses (built by the composition root). */
export interface EventsDeps {
  config: Pick<Config, 'provisioning' | 'trustedProxies'>;
  knex: Knex;
  bus: Pick<InvalidationBus, 'publish'>;
  logger: Logger;
  metrics: { registry: Registry };
  rateLimits: Pick<RateLimits, 'retryAfter'>;
  now: () => number;
  /** Spans (the queued events' batches). */
  tracing?: Pick<Tracing, 'enabled' | 'span'>;
}

/**
 * `POST <basePath>/events` (docs/provisioning.md#change-events), mounted only when `provisioning.events` is configured. The body
 * is read raw (never parsed by a shared parser, never stored by the request log) and answered in the format's
 * own bodies, errors included.
 */
export function createEvents(deps: EventsDeps): Feature {
  const config = deps.config.provisioning.events;
  if (!config) return {};
  const verifier = new EventVerifier({
    jwksUri: config.jwksUri,
    issuer: config.issuer,
    appId: config.appId,
    clockToleranceSeconds: config.clockToleranceSeconds,
    now: () => Math.floor(deps.now() / 1000),
  });
  const receiver = new EventReceiver({
    knex: deps.knex,
    config,
    verifier,
    logger: deps.logger,
    onUserChanged: (id) => void deps.bus.publish({ kind: 'user', id }),
    now: deps.now,
  });
  // Applies the queued part of large pushes in the background.
  const worker = new EventQueueWorker({ knex: deps.knex, receiver, logger: deps.logger, now: deps.now, tracing: deps.tracing });
  // Scraped from the database, so every instance reports the one shared queue.
  new Gauge({
    name: 'claimgate_event_queue_events',
    help: 'Identity-service events waiting in the queue (queued), and those among them being retried (failing).',
    labelNames: ['state'],
    registers: [deps.metrics.registry],
    async collect() {
      const s = await queueStatus(deps.knex);
      this.set({ state: 'queued' }, s.depth);
      this.set({ state: 'failing' }, s.failing);
    },
  });
  return {
    routes: (router) => mountEventRoutes(router, deps, config, receiver),
    start: () => worker.start(),
    close: () => worker.stop(),
  };
}

function mountEventRoutes(router: Router, deps: EventsDeps, config: EventsConfig, receiver: EventReceiver): void {
  const raw = express.raw({ type: () => true, limit: config.maxBodyBytes });
  let allowed: ReturnType<typeof compileTrustedProxies> | null = null;
  try {
    allowed = config.allowedSources.length ? compileTrustedProxies(config.allowedSources) : null;
  } catch (e) {
    throw new Error(`provisioning.events.allowedSources: ${(e as Error).message.replace(/^trustedProxies\[(\d+)\]: /, '[$1] ')}`);
  }
  // The sender's published addresses only, decided on the peer (behind trusted proxies) before the body is read.
  const fromAllowedSource = (req: Request, res: Response, next: NextFunction) => {
    if (!allowed) return next();
    const ip = resolveClient(req.socket.remoteAddress, req.headers, deps.config.trustedProxies).ip;
    if (ip && allowed.has(ip)) return next();
    res.setHeader('Connection', 'close');
    req.resume();
    next(new EventPushError('forbidden', 'pushes are not accepted from this address'));
  };
  router.post(
    '/events',
    fromAllowedSource,
    // Counted before the body is read: a refused pusher does not get to send it.
    (req: Request, res: Response, next: NextFunction) => {
      const wait = deps.rateLimits.retryAfter('events', req);
      if (wait === 0) return next();
      if (!req.complete) res.setHeader('Connection', 'close');
      next(new EventPushError('too_many_requests', 'too many pushes; retry later', { extra: { retryAfter: wait } }));
    },
    raw,
    async (req: Request, res: Response) => {
      const answer = await receiver.receive(Buffer.isBuffer(req.body) ? req.body : undefined);
      res.status(200).set('Cache-Control', 'no-store').json(answer);
    },
    async (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      let e: EventPushError;
      if (err instanceof EventPushError) e = err;
      else if ((err as { type?: string }).type === 'entity.too.large') e = new EventPushError('bad_request', 'the push is too large');
      else e = internal('the push could not be processed; retry later', err);
      // 403 is a peer that is not the sender; anything else may have been part of a full push that is now incomplete.
      if (config.fullSync && e.status !== 403) {
        await interruptOpenRun(deps.knex, `push answered ${e.status}`, new Date(deps.now())).catch((x: unknown) => deps.logger.warn('marking the full push interrupted failed', { cause: (x as Error).message }));
      }
      const failed = ERROR_TABLE[e.code].log === 'error';
      if (failed) noteRequestError(res, err);
      if (failed) deps.logger.error('event push failed', { cause: (e.cause as Error | undefined)?.message ?? e.message });
      else deps.logger.info('event push refused', { status: e.status, reason: e.description });
      sendPushError(res, e);
    },
  );
}
