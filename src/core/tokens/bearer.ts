import { GatewayError, TokenError } from '../errors/errors.js';

/**
 * The one place that reads a token out of a request, for every route. A request may carry its token in exactly
 * one way: the `Authorization: Bearer` header, a query parameter or a body field. Two ways at once are refused
 * rather than ranked, because which one wins would decide who the caller is, and a proxy, a log or a browser may
 * see one of them and not the other (RFC 6750 section 2 says the same).
 *
 * Plain data in, no framework: callers pass the header value and, where a route accepts them, the parsed query
 * and body with the names it reads there.
 */
export interface TokenSources {
  /** The request's Authorization header value, as received. */
  authorization: unknown;
  /** Parsed query parameters, and which of them may hold a token. */
  query?: unknown;
  queryNames?: readonly string[];
  /** Parsed body fields, and which of them may hold a token. */
  body?: unknown;
  bodyNames?: readonly string[];
}

export type TokenSource = 'header' | 'query' | 'body';

/** RFC 7235 token68, after a case-insensitive `Bearer` and one or more spaces, with nothing after it. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const BEARER_SCHEME = /^Bearer(?:\s|$)/i;

export function moreThanOne(): GatewayError {
  return new GatewayError('invalid_request', 400, 'Send the token in one way only: the Authorization header, the query or the body.');
}

/**
 * The bearer token of an `Authorization` header: null when there is no header or it uses another scheme (Basic
 * belongs to other endpoints); `token_malformed` when it says Bearer but is not exactly one token68.
 */
export function bearerFromHeader(authorization: unknown): string | null {
  if (authorization === undefined) return null;
  if (typeof authorization !== 'string') throw new TokenError('token_malformed', 'Send one Authorization header.');
  const value = authorization.trim();
  if (!BEARER_SCHEME.test(value)) return null;
  const m = BEARER.exec(value);
  if (!m) throw new TokenError('token_malformed', 'The Authorization header is not a valid bearer token.');
  return m[1]!;
}

function fromFields(fields: unknown, names: readonly string[] | undefined): string[] {
  if (!names || fields === null || typeof fields !== 'object') return [];
  const found: string[] = [];
  for (const name of names) {
    if (!Object.hasOwn(fields, name)) continue;
    const v = (fields as Record<string, unknown>)[name];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new TokenError('token_malformed', 'Send exactly one token.');
    if (v !== '') found.push(v);
  }
  return found;
}

/**
 * The request's one token and where it came from, or null when it carries none.
 * @throws GatewayError `invalid_request` (400) when more than one way (or field) carries a token;
 *   TokenError `token_malformed` for a malformed Bearer header or a repeated parameter.
 */
export function requestToken(sources: TokenSources): { token: string; source: TokenSource } | null {
  const found: { token: string; source: TokenSource }[] = [];
  const header = bearerFromHeader(sources.authorization);
  if (header !== null) found.push({ token: header, source: 'header' });
  for (const token of fromFields(sources.query, sources.queryNames)) found.push({ token, source: 'query' });
  for (const token of fromFields(sources.body, sources.bodyNames)) found.push({ token, source: 'body' });
  if (found.length > 1) throw moreThanOne();
  return found[0] ?? null;
}
