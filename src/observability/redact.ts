import { dict } from '../core/own-keys.js';

/**
 * Redaction for every log line and stored payload: tokens, secrets, passwords and cookies never leave the
 * process in clear. Applied by key name and, as a second net, by value shape (anything that looks like a
 * JWT/JWE, or a `jwt=` query parameter).
 */

export const MASK = '[redacted]';

const SENSITIVE_KEY =
  /pass(word)?|secret|token|authorization|cookie|jwt|assertion|credential|private|^key$|apikey|api_key|client_assertion|code_verifier|decryptionkey|^event$|^d$|^p$|^q$|^dp$|^dq$|^qi$|^k$/i;

/** Compact JWS (3 parts) or JWE (5 parts) with a base64url JSON header. */
const JWT_LIKE = /\beyJ[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*){2,4}/g;
const QUERY_SECRET = /([?&](?:jwt|token|access_token|id_token|code|client_secret|state|refresh_token)=)[^&#\s"']*/gi;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
/** The gateway's own API tokens and client secrets (`cg_…`, `cgs_…`), wherever they appear. */
const GATEWAY_SECRET = /\bcgs?_[A-Za-z0-9_-]{20,}/g;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

/** Masks token-shaped substrings in free text (URLs, messages). */
export function redactString(s: string): string {
  if (s.length > 1_000_000) s = s.slice(0, 1_000_000);
  return s.replace(JWT_LIKE, MASK).replace(QUERY_SECRET, `$1${MASK}`).replace(BEARER, `$1 ${MASK}`).replace(GATEWAY_SECRET, MASK);
}

/** Deep copy with sensitive keys masked and token-shaped strings removed. Cycles and depth are bounded. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8 || seen.has(value)) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => redact(v, depth + 1, seen));
  if (value instanceof Error) {
    return { name: value.name, message: redactString(value.message), code: (value as { code?: unknown }).code };
  }
  // Keys come from request bodies: a `__proto__` key must be logged (redacted) like any other, not become a prototype.
  const out = dict<unknown>();
  // A SCIM PATCH operation names its target in `path` (`"path": "password"`): its `value` is that attribute.
  const path = (value as { path?: unknown }).path;
  const valueIsSecret = typeof path === 'string' && isSensitiveKey(path.split(/[.:]/).pop() ?? '');
  for (const [k, v] of Object.entries(value)) {
    const secret = isSensitiveKey(k) || (valueIsSecret && k === 'value');
    out[k] = secret && v !== null && v !== undefined && typeof v !== 'boolean' ? MASK : redact(v, depth + 1, seen);
  }
  return out;
}
