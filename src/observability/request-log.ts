import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import type { Logger } from './logger.js';
import { requestContext } from './logger.js';
import { MASK, isSensitiveKey, redactString } from './redact.js';
import { noteRequestError } from './exception-log.js';
import { maskClientIp, maskedBodyValue, maskedQuery, maskLiterals, obfuscateClientId, requestLiterals, type ClientIpMode } from './log-masking.js';
import { routeTemplate } from './route-template.js';

/**
 * The path prefixes (under basePath) whose calls the request log records: the admin API, SCIM, the sync API,
 * the token endpoint and the event receiver. Never proxied app traffic (it would cost the proxy its speed), never
 * the sign-in routes (an SSO link carries its token in the URL).
 */
export const REQUEST_LOG_PATHS = ['/admin/v1', '/scim/v2', '/oauth/token', '/api/v1', '/events'];

/** Paths whose request body is never stored: a raw event push is signed (and maybe encrypted) user data. */
const BODY_NOT_STORED = ['/events'];

/** Stored payloads are cut to this many characters (after masking). */
const MAX_PAYLOAD_CHARS = 64 * 1024;
/** Response bytes captured for the payload row; more is cut. */
const MAX_CAPTURE_BYTES = 256 * 1024;

/** Request headers worth keeping. Everything else (Authorization, Cookie, vendor API keys) is left out. */
const KEPT_HEADERS = ['content-type', 'content-length', 'accept', 'user-agent', 'x-request-id'];

export interface RequestLogOptions {
  knex: Knex;
  logger: Logger;
  basePath: string;
  /** The client's address (behind trusted proxies). */
  clientIp: (req: Request) => string;
  /** How much of that address a row keeps (`logs.clientIp`). */
  clientIpMode?: ClientIpMode;
  /**
   * Who made the call as the code that authenticated it recorded it (a credential's name, a console session's
   * pseudonym), or null. Read after the answer is sent; it never authenticates anything itself.
   */
  principalOf: (req: IncomingMessage) => string | null;
}

export { noteRequestError };

/**
 * Express middleware writing the request log: one `request` row (method, route template, status, obfuscated
 * client, duration) and one `payload` row (request and response bodies with Authorization, cookies, passwords,
 * secrets, client ids, tokens and search values masked, and any echo of the request's path or query values).
 * Exception rows are the exception log's (exception-log.ts). Rows are written after the answer is sent; a failed write is
 * logged and never affects the call.
 */
export function requestLog(opts: RequestLogOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    const at = new Date();
    const requestId = requestContext.getStore()?.requestId ?? randomUUID();
    const ip = opts.clientIp(req);
    const chunks: Buffer[] = [];
    let captured = 0;
    const capture = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function' || captured >= MAX_CAPTURE_BYTES) return;
      const buf = Buffer.isBuffer(chunk)
        ? chunk
        : typeof chunk === 'string'
          ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
          : Buffer.from(chunk as Uint8Array);
      const part = buf.subarray(0, MAX_CAPTURE_BYTES - captured);
      captured += part.length;
      chunks.push(part);
    };
    const write = res.write.bind(res) as (...a: unknown[]) => boolean;
    const end = res.end.bind(res) as (...a: unknown[]) => Response;
    res.write = ((...args: unknown[]) => {
      capture(args[0], args[1]);
      return write(...args);
    }) as Response['write'];
    res.end = ((...args: unknown[]) => {
      capture(args[0], args[1]);
      return end(...args);
    }) as Response['end'];

    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const duration = Math.round(performance.now() - started);
      void writeRows(opts, req, res, { at, requestId, ip, duration, response: Buffer.concat(chunks) }).catch((e) =>
        opts.logger.warn('request log not written', { cause: e }),
      );
    };
    res.once('finish', finish);
    res.once('close', finish);
    next();
  };
}

async function writeRows(
  opts: RequestLogOptions,
  req: Request,
  res: Response,
  r: { at: Date; requestId: string; ip: string; duration: number; response: Buffer },
): Promise<void> {
  const template = routeTemplate(req, opts.basePath, REQUEST_LOG_PATHS);
  const pathOnly = (req.originalUrl ?? req.url).split('?')[0]!.slice(opts.basePath.length);
  const status = res.headersSent ? res.statusCode : null;
  const client = clientOf(opts, req);
  const base = {
    at: r.at,
    request_id: r.requestId,
    method: req.method,
    path: template,
    status,
    client_ip: maskClientIp(r.ip, opts.clientIpMode ?? 'full'),
    client,
    duration_ms: r.duration,
  };
  const bodyStored = !BODY_NOT_STORED.some((p) => pathOnly === p || pathOnly.startsWith(`${p}/`));
  const headers: Record<string, unknown> = {};
  for (const h of KEPT_HEADERS) if (req.headers[h] !== undefined) headers[h] = req.headers[h];
  const query = maskedQuery(req.query);
  const payload = {
    request: {
      headers,
      query,
      body: bodyStored ? maskedBody(req.body) : req.body === undefined ? undefined : '[event push not stored]',
    },
    response: {
      contentType: res.getHeader('content-type') ?? null,
      body: maskedBody(parseResponse(r.response, String(res.getHeader('content-type') ?? ''))),
    },
  };
  const literals = requestLiterals(req);
  const rows: Record<string, unknown>[] = [
    { ...base, kind: 'request', detail: JSON.stringify({ query }) },
    { ...base, kind: 'payload', detail: maskLiterals(bounded(payload), literals) },
  ];
  await opts.knex('request_logs').insert(rows);
}

function clientOf(opts: RequestLogOptions, req: Request): string | null {
  // A refused credential names nobody: the row then says who tried only by client id or address.
  const named = opts.principalOf(req);
  if (named) return named;
  const body = req.body as Record<string, unknown> | undefined;
  if (body && typeof body === 'object' && typeof body.client_id === 'string') return obfuscateClientId(body.client_id);
  const auth = req.headers.authorization;
  const basic = typeof auth === 'string' ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth) : null;
  if (basic) {
    const user = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':', 1)[0] ?? '';
    try {
      return obfuscateClientId(decodeURIComponent(user));
    } catch {
      return obfuscateClientId(user);
    }
  }
  return null;
}

/** The URL with sensitive query parameters masked by name and token-shaped values by shape. */
export function maskedUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return redactString(url);
  const params = new URLSearchParams(url.slice(q + 1));
  const out: string[] = [];
  for (const [k, v] of params) out.push(`${encodeURIComponent(k)}=${isSensitiveKey(k) ? MASK : encodeURIComponent(v)}`);
  return redactString(`${url.slice(0, q)}?${out.join('&')}`);
}

function maskedBody(body: unknown): unknown {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) return body.length ? `[${body.length} bytes]` : undefined;
  if (typeof body === 'string') {
    const parsed = tryJson(body);
    if (parsed !== undefined) return maskedBodyValue(parsed);
    const form = maskForm(body);
    return form === body ? `[${body.length} characters]` : redactString(form);
  }
  return maskedBodyValue(body);
}

/** `a=1&client_secret=x` style text: masks sensitive fields by name. */
function maskForm(text: string): string {
  if (!/^[^=&\s]+=[^&]*(&[^=&\s]+=[^&]*)*$/.test(text)) return text;
  return text.replace(/(^|&)([^=&]+)=([^&]*)/g, (m, sep: string, k: string) => (isSensitiveKey(decodeURIComponent(k)) || /^client_id$/i.test(decodeURIComponent(k)) ? `${sep}${k}=${MASK}` : m));
}

function parseResponse(buf: Buffer, contentType: string): unknown {
  if (buf.length === 0) return undefined;
  const text = buf.toString('utf8');
  if (/json/i.test(contentType)) return tryJson(text) ?? text;
  if (/^text\/|form-urlencoded/i.test(contentType)) return text;
  return `[${buf.length} bytes of ${contentType || 'unknown type'}]`;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function bounded(payload: object): string {
  const text = JSON.stringify(payload);
  if (text.length <= MAX_PAYLOAD_CHARS) return text;
  return JSON.stringify({ truncated: true, chars: text.length, head: text.slice(0, MAX_PAYLOAD_CHARS) });
}

export type LogKind = 'request' | 'payload' | 'exception';

/** The retention of each row kind: `logs.retentionDays.<kind>`, else `logs.requestRetentionDays`. */
export function retentionOf(logs: { requestRetentionDays: number; retentionDays?: Partial<Record<LogKind, number | undefined>> }): Record<LogKind, number> {
  const d = logs.requestRetentionDays;
  const r = logs.retentionDays ?? {};
  return { request: r.request ?? d, payload: r.payload ?? d, exception: r.exception ?? d };
}

/**
 * Deletes request-log rows older than their kind's retention (a single number applies to all kinds).
 * Returns how many.
 */
export async function purgeRequestLogs(knex: Knex, retention: number | Record<LogKind, number>, now: number = Date.now(), dryRun = false): Promise<number> {
  const days = typeof retention === 'number' ? { request: retention, payload: retention, exception: retention } : retention;
  let n = 0;
  for (const kind of ['request', 'payload', 'exception'] as const) {
    const q = knex('request_logs').where({ kind }).andWhere('at', '<', new Date(now - days[kind] * 86_400_000));
    if (dryRun) n += Number(((await q.clone().count({ n: '*' }).first()) as { n: string | number }).n);
    else n += await q.delete();
  }
  return n;
}
