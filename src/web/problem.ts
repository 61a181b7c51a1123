import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../core/errors/errors.js';
import { ERROR_TABLE, type ErrorEntry } from '../core/errors/table.js';
import { GATEWAY_RESPONSE_HEADERS } from './security-headers.js';

/**
 * Renders an error as RFC 9457 problem+json, or as a small HTML page for browsers. Only the public message
 * and stable code ever reach the client; the cause stays in the server log.
 */
/** untranslatable_character, character_not_in_repertoire, invalid_text_representation, numeric_value_out_of_range. */
const INPUT_SQLSTATES = new Set(['22P05', '22021', '22P02', '22003']);

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const e = err as { type?: string; status?: number; statusCode?: number; expose?: boolean };
  // body-parser / raw-body errors carry an HTTP status; keep their meaning, not their text.
  if (e?.type === 'entity.too.large') return new GatewayError('body_too_large', 'The request body is too large.');
  if (e?.type === 'entity.parse.failed') return new GatewayError('body_malformed', 'The request body could not be parsed.');
  // Values the database cannot store or read as the type asked for (NUL in text, a malformed number): the
  // request's fault. The checks in front of the writers catch these first; this keeps any that slip past a 400.
  const sqlState = (err as { code?: unknown } | null)?.code;
  if (typeof sqlState === 'string' && INPUT_SQLSTATES.has(sqlState)) {
    return new GatewayError('text_invalid', 'The request holds a value that cannot be stored (a NUL character or a malformed number).', { cause: err });
  }
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new GatewayError('bad_request', 'The request could not be understood.', { cause: err, status });
  }
  return new GatewayError('internal_error', 'Something went wrong on our side.', { cause: err });
}

export function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/** Titles for a status a code is answered with in place of the table's own (an explicit `status` where it is built). */
const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign-in required',
  403: 'Access denied',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
  500: 'Internal error',
  502: 'The application is not reachable',
  503: 'Service unavailable',
  504: 'The application did not answer in time',
};

export function titleFor(status: number): string {
  return TITLES[status] ?? 'Error';
}

/**
 * How an error is answered, whatever the format: the status and title from the error table (or the status given
 * where it was built), and the response headers that go with it: the `WWW-Authenticate` challenge (the error's own,
 * else the table's for a 401) and `Retry-After`. Every renderer (problem+json and HTML here, SCIM, the token
 * endpoint, the event receiver) starts from this.
 */
export function errorAnswer(ge: GatewayError): { status: number; title: string; headers: Record<string, string> } {
  const entry: ErrorEntry = ERROR_TABLE[ge.code];
  const status = ge.status;
  const headers: Record<string, string> = {};
  const challenge = typeof ge.extra?.wwwAuthenticate === 'string' ? ge.extra.wwwAuthenticate : status === 401 ? entry.wwwAuthenticate : undefined;
  if (challenge !== undefined) headers['WWW-Authenticate'] = challenge;
  if (ge.extra?.retryAfter !== undefined) headers['Retry-After'] = String(ge.extra.retryAfter);
  return { status, title: status === entry.status ? entry.title : titleFor(status), headers };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A minimal self-contained page; no scripts, no external resources. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#eee;padding:.1rem .3rem}a,button{font-size:1rem}</style></head><body>${body}</body></html>`;
}

/** `extra` fields that become response headers rather than members of the problem document. */
const HEADER_EXTRAS = new Set(['retryAfter', 'wwwAuthenticate', 'location']);

/**
 * `nav`: the account footer of an HTML error page (see page-nav.ts), so a refused person sees who is signed in,
 * can sign out and can go back.
 */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  extraHeaders: Record<string, string> = {},
  page: { nav?: string } = {},
): void {
  const ge = toGatewayError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (typeof ge.extra?.location === 'string' && ge.status >= 300 && ge.status < 400) {
    // A browser sent to sign in: a bare redirect, no document.
    res.writeHead(ge.status, { Location: ge.extra.location, 'Cache-Control': 'no-store' });
    res.end();
    return;
  }
  const answer = errorAnswer(ge);
  const headers: Record<string, string> = { ...GATEWAY_RESPONSE_HEADERS, 'Cache-Control': 'no-store', ...extraHeaders, ...answer.headers };
  const { status, title } = answer;
  if (wantsHtml(req)) {
    const body = htmlPage(
      title,
      `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(ge.publicMessage)}</p><p><small>Error code: <code>${escapeHtml(ge.code)}</code></small></p>${page.nav ?? ''}`,
    );
    res.writeHead(status, { ...headers, 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  const doc: Record<string, unknown> = {
    type: `urn:claimgate:error:${ge.code}`,
    title,
    status,
    detail: ge.publicMessage,
    code: ge.code,
  };
  if (ge.extra) for (const [k, v] of Object.entries(ge.extra)) if (!HEADER_EXTRAS.has(k)) doc[k] = v;
  const body = JSON.stringify(doc);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/problem+json', 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
