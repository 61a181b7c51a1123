import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Request } from 'express';
import { MASK, isSensitiveKey, redact, redactString } from './redact.js';
import { routeParams } from './route-template.js';
import { dict } from '../core/own-keys.js';

/** How much of the client's address a log row keeps. */
export type ClientIpMode = 'full' | 'truncated' | 'none';

/** The client address as the `logs.clientIp` setting allows: IPv4 keeps its /24, IPv6 its /48. */
export function maskClientIp(ip: string, mode: ClientIpMode): string | null {
  if (!ip || mode === 'none') return null;
  if (mode === 'full') return ip;
  const v4 = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  if (isIP(v4) === 4) return `${v4.split('.').slice(0, 3).join('.')}.0`;
  if (isIP(ip) === 6) {
    const [head] = ip.split('::');
    const groups = (head ?? '').split(':').filter(Boolean);
    return `${[...groups, '0', '0', '0'].slice(0, 3).join(':')}::`;
  }
  return null;
}

/** A client id as a stable, non-reversible label: the same client is recognisable across rows, never named. */
export function obfuscateClientId(clientId: string): string {
  return `client:${createHash('sha256').update(clientId).digest('hex').slice(0, 12)}`;
}

/** Query parameters whose values describe the page, never a person: kept in clear. */
const HARMLESS_QUERY = new Set([
  'limit',
  'cursor',
  'count',
  'startIndex',
  'attributes',
  'excludedAttributes',
  'sortBy',
  'sortOrder',
  'dryRun',
  'kind',
  'lifecycle',
  'since',
  'until',
  'type',
]);

/** Body keys that hold credentials or search values, masked in stored payloads. */
const MASKED_BODY_KEY = /^(client_id|clientId|filter|q|search|query|refresh_token|username)$/i;

/**
 * Body keys that name or describe a person (SCIM, sync, admin and event field names): their values, and every
 * string below them, are masked in stored payloads. Ids, types, flags and the shape stay.
 */
const PERSONAL_KEY =
  /^(user_?name|usercode|user_?code|readable_?user_?code|e_?mails?|display_?name|given_?name|family_?name|middle_?name|honorific_?(prefix|suffix)|formatted|nick_?name|name|external_?id|user_?external_?id|phone_?numbers?|phone|mobile|employee_?number|manager|addresses|address|street_?address|locality|postal_?code|title|ims|photos|x509certificates|idp_?workforce_?id|workforce_?id|idp_?reference_?id|idp_?(cloud_?)?user_?name|forenames?|surname|renamed_?from|department|cost_?center|organization|division|preferred_?username|sub|q|claims|ssoemail|sso_?email|attributes|first_?name|last_?name|full_?name)$/i;

/** The query as stored: values of anything but paging and projection parameters are masked. */
export function maskedQuery(query: unknown): Record<string, unknown> {
  const out = dict<unknown>();
  if (!query || typeof query !== 'object') return out;
  for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
    out[k] = HARMLESS_QUERY.has(k) && !isSensitiveKey(k) ? redact(v) : MASK;
  }
  return out;
}

/** A body with credentials masked by key (headers never get here: only a short allow-list is kept). */
export function maskedBodyValue(body: unknown, depth = 0): unknown {
  // A bare string body says nothing about the API's use; it may well be a person's address.
  if (typeof body === 'string') return `[string ${body.length}]`;
  const r = redact(body);
  return maskKeys(r, depth);
}

function maskKeys(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => maskKeys(v, depth + 1));
  // Keys come from request and answer bodies: a `__proto__` key is stored (masked) like any other, not lost.
  const out = dict<unknown>();
  // A SCIM PATCH operation names its target in `path`: a personal attribute's `value` is personal too.
  const path = (value as { path?: unknown }).path;
  // A mapping trace does the same with `values`.
  const valueIsPersonal =
    typeof path === 'string' &&
    path
      .replace(/\[[^\]]*\]/g, '')
      .split(/[.:]/)
      .some((seg) => PERSONAL_KEY.test(seg));
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (MASKED_BODY_KEY.test(k) && v !== null && v !== undefined && typeof v !== 'boolean') out[k] = MASK;
    else if (PERSONAL_KEY.test(k) || (valueIsPersonal && (k === 'value' || k === 'values'))) out[k] = maskStrings(v, depth + 1);
    else out[k] = maskKeys(v, depth + 1);
  }
  return out;
}

function maskStrings(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return MASK;
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => maskStrings(v, depth + 1));
  const out = dict<unknown>();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = k === 'type' || k === 'primary' ? v : maskStrings(v, depth + 1);
  return out;
}

/**
 * The values this request carried that may name a person (path parameters, query values, the quoted literals of
 * a filter): any echo of them in a stored row (an error message, a response body) is masked too.
 */
export function requestLiterals(req: Request, extraBody = false): string[] {
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string') {
      if (v.length >= 3) out.add(v);
      for (const m of v.matchAll(/"((?:[^"\\]|\\.){3,})"/g)) out.add(m[1]!);
      for (const m of v.matchAll(/'([^']{3,})'/g)) out.add(m[1]!);
    } else if (Array.isArray(v)) v.forEach(add);
    else if (v && typeof v === 'object') Object.values(v as Record<string, unknown>).forEach(add);
  };
  for (const v of Object.values(routeParams(req))) add(v);
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) if (!HARMLESS_QUERY.has(k)) add(v);
  // Path segments: a route that never matched still carried them.
  const path = (req.originalUrl ?? req.url).split('?')[0]!;
  for (const seg of path.split('/')) {
    try {
      const d = decodeURIComponent(seg);
      if (d.length >= 3 && !/^[A-Za-z.]+$/.test(d)) out.add(d);
    } catch {
      // an undecodable segment cannot be echoed decoded
    }
  }
  const body = req.body as Record<string, unknown> | undefined;
  if (body && typeof body === 'object' && !Buffer.isBuffer(body)) {
    for (const k of ['filter', 'q', 'client_id', 'clientId', 'username']) add(body[k]);
    if (extraBody) collectStrings(body, out, 0);
  }
  return [...out].sort((a, b) => b.length - a.length).slice(0, 500);
}

function collectStrings(v: unknown, out: Set<string>, depth: number): void {
  if (out.size > 500 || depth > 6) return;
  if (typeof v === 'string') {
    if (v.length >= 3) out.add(v);
  } else if (Array.isArray(v)) v.forEach((x) => collectStrings(x, out, depth + 1));
  else if (v && typeof v === 'object') Object.values(v as Record<string, unknown>).forEach((x) => collectStrings(x, out, depth + 1));
}

/** JSON text with every occurrence of the literals (as they appear inside JSON strings) masked. */
export function maskLiterals(json: string, literals: readonly string[]): string {
  let text = json;
  for (const lit of literals) {
    const escaped = JSON.stringify(lit).slice(1, -1);
    if (escaped.length >= 3 && text.includes(escaped)) text = text.split(escaped).join(MASK);
    const uri = encodeURIComponent(lit);
    if (uri !== lit && uri.length >= 3 && text.includes(uri)) text = text.split(uri).join(MASK);
  }
  return text;
}

/** The shape of the input without its values: enough to see what was sent, nothing that names anyone. */
export function inputShape(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return value;
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (typeof value === 'string') return `[string ${value.length}]`;
  if (typeof value !== 'object') return `[${typeof value}]`;
  if (depth > 4) return '[…]';
  if (Array.isArray(value)) return value.slice(0, 5).map((v) => inputShape(v, depth + 1));
  const out = dict<unknown>();
  for (const [k, v] of Object.entries(value as Record<string, unknown>).slice(0, 50)) out[redactString(k)] = inputShape(v, depth + 1);
  return out;
}
