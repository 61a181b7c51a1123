import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import type { Logger } from './logger.js';
import { requestContext } from './logger.js';
import { inputShape, maskClientIp, maskLiterals, requestLiterals, type ClientIpMode } from './log-masking.js';
import { redactString } from './redact.js';
import { routeParams, routeTemplate, trackRouteTemplate } from './route-template.js';

const errors = new WeakMap<Response, unknown>();

/**
 * Tells the exception log about an unhandled error of this call. Every error renderer calls it (the app's
 * problem handler, the SCIM error body, the event receiver's format body), so whichever router answered, the
 * row is written by the one middleware below.
 */
export function noteRequestError(res: Response, err: unknown): void {
  errors.set(res, err);
}

export interface ExceptionLogOptions {
  knex: Knex;
  logger: Logger;
  basePath: string;
  /** Prefixes below basePath a fallback template may name (when no route matched). */
  prefixes: readonly string[];
  clientIp: (req: Request) => string;
  clientIpMode: ClientIpMode;
}

/**
 * Middleware in front of every gateway route: remembers the matched route's template and, once the answer is
 * written, stores one `exception` row for a call that failed with an unhandled error (5xx, or no answer at all):
 * request id, route template, error class, code, masked message and stack, and the shape of the input.
 */
export function exceptionLog(opts: ExceptionLogOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    trackRouteTemplate(req);
    const started = performance.now();
    const at = new Date();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const err = errors.get(res);
      const status = res.headersSent ? res.statusCode : null;
      if (err === undefined || (status !== null && status < 500)) return;
      const requestId = requestContext.getStore()?.requestId ?? randomUUID();
      void writeException(opts, req, err, { at, status, requestId, duration: Math.round(performance.now() - started) }).catch((e) =>
        opts.logger.warn('exception log not written', { cause: (e as Error).message }),
      );
    };
    const requestId = requestContext.getStore()?.requestId;
    res.once('finish', () => (requestId ? requestContext.run({ requestId }, finish) : finish()));
    res.once('close', () => (requestId ? requestContext.run({ requestId }, finish) : finish()));
    next();
  };
}

async function writeException(
  opts: ExceptionLogOptions,
  req: Request,
  err: unknown,
  r: { at: Date; status: number | null; requestId: string; duration: number },
): Promise<void> {
  const template = routeTemplate(req, opts.basePath, opts.prefixes);
  const literals = requestLiterals(req, true);
  const detail = {
    route: template,
    ...exceptionDetail(err),
    input: {
      params: Object.keys(routeParams(req)),
      query: Object.keys((req.query ?? {}) as object),
      body: inputShape(req.body),
      contentType: req.headers['content-type'] ?? null,
    },
  };
  await opts.knex('request_logs').insert({
    at: r.at,
    kind: 'exception',
    request_id: r.requestId,
    method: req.method,
    path: template,
    status: r.status,
    client_ip: maskClientIp(opts.clientIp(req), opts.clientIpMode),
    client: null,
    duration_ms: r.duration,
    detail: maskLiterals(JSON.stringify(detail), literals),
  });
}

function describe(e: { name?: string; constructor?: { name?: string }; message?: string; code?: unknown; stack?: string }, fallback: unknown) {
  return {
    class: e?.constructor?.name && e.constructor.name !== 'Object' ? e.constructor.name : (e?.name ?? typeof fallback),
    name: e?.name ?? typeof fallback,
    code: typeof e?.code === 'string' || typeof e?.code === 'number' ? e.code : null,
    message: redactString(String(e?.message ?? fallback)).slice(0, 2000),
    stack: e?.stack ? redactString(e.stack).split('\n').slice(0, 20).join('\n') : null,
  };
}

/** The error and its causes (at most three deep), masked. */
export function exceptionDetail(err: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = describe(err as never, err);
  let cause = (err as { cause?: unknown } | undefined)?.cause;
  let at = out;
  for (let i = 0; i < 3 && cause !== undefined && cause !== null; i++) {
    const d: Record<string, unknown> = describe(cause as never, cause);
    at.cause = d;
    at = d;
    cause = (cause as { cause?: unknown }).cause;
  }
  if (!('cause' in at)) at.cause = null;
  return out;
}
