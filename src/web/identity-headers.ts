/**
 * Identity headers: removing the client's, building the gateway's (docs/http-interface.md, "Forwarding to the analytics
 * app").
 *
 * Security: the analytics app trusts `X-Claimgate-*` to say who the user is, so a client must never be able
 * to send its own. Exact-name stripping is not enough: oauth2-proxy CVE-2025-64484 let clients smuggle
 * `X_Forwarded_User`-style underscore variants that a backend (or a proxy with `underscores_in_headers`, or
 * CGI/WSGI/Rack, which all map `-` to `_`) reads as the real header; mod_auth_openidc CVE-2017-6062 was the
 * same class of bug with case/underscore variants of its `OIDC_CLAIM_*` headers. Here a header name is
 * compared in a canonical form (ASCII lowercase, every character other than a letter or digit read as `-`),
 * so `X-ClaimGate-User`, `x_claimgate_user`, `X.CLAIMGATE.USER` all count as the same header — matching
 * more is always the safe direction for a strip filter.
 */

/** The headers the gateway sets (names from `forwarding.headerNames`). */
export interface IdentityHeaderNames {
  user: string;
  userId: string;
  email: string;
  name: string;
  roles: string;
  permissions: string;
  assertion: string;
}

/** The identity forwarded to the app (a subset of core/identity/assertion.ts `Identity`). */
export interface ForwardedIdentity {
  userId: string;
  usercode: string;
  email?: string | null;
  displayName?: string | null;
  roles: string[];
  permissions: string[];
}

export type HeaderRecord = Record<string, string | string[] | undefined>;

const PREFIX = 'x-claimgate';

/** Canonical comparison form of a header name: lowercase ASCII, any non-alphanumeric character as `-`. */
export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '-');
}

/**
 * True for any spelling of an `X-Claimgate-*` header (any case, `_` or any other separator for `-`),
 * including the bare prefix `X-Claimgate`.
 */
export function isClaimgateHeader(name: string): boolean {
  const c = canonicalHeaderName(name);
  return c === PREFIX || c.startsWith(`${PREFIX}-`);
}

/**
 * A filter for client-sent identity headers: every `X-Claimgate-*` spelling, plus every spelling of the
 * names configured in `forwarding.headerNames` (which may be anything, e.g. `Remote-User`).
 */
export function makeHeaderFilter(configuredNames: readonly string[]): (name: string) => boolean {
  const configured = new Set(configuredNames.map(canonicalHeaderName));
  return (name: string) => isClaimgateHeader(name) || configured.has(canonicalHeaderName(name));
}

/** A copy of `headers` (Node's `req.headers` shape) without identity headers. */
export function stripIdentityHeaders(headers: HeaderRecord, isIdentity?: (name: string) => boolean): HeaderRecord;
/** A copy of `rawHeaders` (Node's flat `[name, value, name, value...]`) without identity headers. */
export function stripIdentityHeaders(rawHeaders: readonly string[], isIdentity?: (name: string) => boolean): string[];
export function stripIdentityHeaders(
  headers: HeaderRecord | readonly string[],
  isIdentity: (name: string) => boolean = isClaimgateHeader,
): HeaderRecord | string[] {
  if (Array.isArray(headers)) {
    const raw = headers as readonly string[];
    const out: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (!isIdentity(raw[i]!)) out.push(raw[i]!, raw[i + 1]!);
    }
    return out;
  }
  // Object.fromEntries defines own properties, so a header literally named `__proto__` stays a plain key.
  return Object.fromEntries(Object.entries(headers as HeaderRecord).filter(([name]) => !isIdentity(name)));
}

/** Visible ASCII except `%` (so that a value containing `%` is always an encoded one). */
const PLAIN = /^[\x21-\x24\x26-\x7e]*$/;

/**
 * Percent-encodes a single-valued header value when it holds anything outside visible ASCII, or a `%`.
 * Plain ASCII usercodes and e-mail addresses stay readable as they are; a value with spaces, non-ASCII or
 * control characters is sent as `encodeURIComponent` output. Because a literal `%` always triggers encoding,
 * the app may percent-decode every such header unconditionally and never misread a crafted usercode such as
 * `admin%40corp` as `admin@corp`.
 */
export function encodeHeaderValue(value: string): string {
  return PLAIN.test(value) ? value : encode(value);
}

/** Comma-separated, each name encoded; empty names (meaningless, and ambiguous with "none") are dropped. */
function list(names: readonly string[]): string {
  return names
    .filter((n) => n !== '')
    .map(encode)
    .join(',');
}

/** encodeURIComponent that never throws: a lone UTF-16 surrogate becomes U+FFFD instead of a URIError. */
function encode(value: string): string {
  return encodeURIComponent(value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));
}

/**
 * The request headers the gateway adds for the app. Header names are lowercased (HTTP names are
 * case-insensitive; this avoids a duplicate next to Node's lowercased names).
 *
 * - user, userId, email: {@link encodeHeaderValue} (encoded only when needed); email is omitted when empty.
 * - name: always `encodeURIComponent` (UTF-8), omitted when empty.
 * - roles, permissions: comma-separated, each name `encodeURIComponent`-encoded, so a role named
 *   `viewer,admin` arrives as `viewer%2Cadmin` and can never read as two roles; empty names are dropped;
 *   an empty list is sent as an empty value (explicitly "none").
 * - assertion: the compact JWS as is (base64url and dots only; anything else is a bug and throws).
 *
 * No value can contain CR, LF or any other control character (header injection): encodeURIComponent output
 * is visible ASCII, and the final check refuses anything else.
 */
export function buildIdentityHeaders(
  identity: ForwardedIdentity,
  names: IdentityHeaderNames,
  assertion: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  const set = (name: string, value: string) => {
    if (!/^[\x20-\x7e]*$/.test(value)) throw new Error(`identity header ${name} would carry an unsafe character`);
    out[name.toLowerCase()] = value;
  };
  set(names.user, encodeHeaderValue(identity.usercode));
  set(names.userId, encodeHeaderValue(identity.userId));
  if (identity.email) set(names.email, encodeHeaderValue(identity.email));
  if (identity.displayName) set(names.name, encode(identity.displayName));
  set(names.roles, list(identity.roles));
  set(names.permissions, list(identity.permissions));
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/.test(assertion)) {
    throw new Error('the assertion is not a compact JWS');
  }
  set(names.assertion, assertion);
  return out;
}
