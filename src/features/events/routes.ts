import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { noteRequestError } from '../../observability/exception-log.js';
import type { GatewayContext } from '../../app/gateway-context.js';
import { EventPushError, internal, sendPushError } from './errors.js';
import { ERROR_TABLE } from '../../core/errors/table.js';
import { EventReceiver } from './receiver.js';
import { interruptOpenRun } from './full-sync.js';
import { EventVerifier } from './verify.js';
import { Gauge } from 'prom-client';
import { EventQueueWorker, queueStatus } from './queue-worker.js';
import { compileTrustedProxies, resolveClient } from '../../web/client-ip.js';

/**
 * `POST <basePath>/events` (docs/provisioning.md#change-events), mounted only when `provisioning.events` is configured. The body
 * is read raw (never parsed by a shared parser, never stored by the request log) and answered in the format's
 * own bodies, errors included.
 */
export function eventRoutes(router: Router, ctx: GatewayContext): void {
  const config = ctx.config.provisioning.events;
  if (!config) return;
  const verifier = new EventVerifier({
    jwksUri: config.jwksUri,
    issuer: config.issuer,
    appId: config.appId,
    clockToleranceSeconds: config.clockToleranceSeconds,
    now: () => Math.floor(ctx.now() / 1000),
  });
  const receiver = new EventReceiver({
    knex: ctx.db.knex,
    config,
    verifier,
    logger: ctx.logger,
    onUserChanged: (id) => void ctx.bus.publish({ kind: 'user', id }),
    now: ctx.now,
  });
  const worker = new EventQueueWorker({ knex: ctx.db.knex, receiver, logger: ctx.logger, now: ctx.now });
  worker.start();
  // Scraped from the database, so every instance reports the one shared queue.
  new Gauge({
    name: 'claimgate_event_queue_events',
    help: 'Identity-service events waiting in the queue (queued), and those among them being retried (failing).',
    labelNames: ['state'],
    registers: [ctx.metrics.registry],
    async collect() {
      const s = await queueStatus(ctx.db.knex);
      this.set({ state: 'queued' }, s.depth);
      this.set({ state: 'failing' }, s.failing);
    },
  });
  ctx.onClose?.(() => worker.stop());
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
    const ip = resolveClient(req.socket.remoteAddress, req.headers, ctx.config.trustedProxies).ip;
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
      const wait = ctx.rateLimits.retryAfter('events', req);
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
        await interruptOpenRun(ctx.db.knex, `push answered ${e.status}`, new Date(ctx.now())).catch((x: unknown) => ctx.logger.warn('marking the full push interrupted failed', { cause: (x as Error).message }));
      }
      const failed = ERROR_TABLE[e.code].log === 'error';
      if (failed) noteRequestError(res, err);
      if (failed) ctx.logger.error('event push failed', { cause: (e.cause as Error | undefined)?.message ?? e.message });
      else ctx.logger.info('event push refused', { status: e.status, reason: e.description });
      sendPushError(res, e);
    },
  );
}
