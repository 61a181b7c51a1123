/**
 * `return_to` validation (docs/http-interface.md#sign-in-and-session: a same-origin path or an allowed origin;
 * anything else falls back to `/`).
 *
 * Security: an SSO gateway that redirects to an attacker-chosen URL after sign-in is an open redirect that
 * phishing pages and token-leak chains build on. oauth2-proxy shipped two such bugs that this module is written
 * against: CVE-2020-5233 (`/\t/evil.com` — browsers drop tabs and newlines inside URLs, turning it into
 * `//evil.com`) and CVE-2020-11053 (`/\evil.com` and friends — browsers read `\` as `/`).
 *
 * Why both an explicit pre-check AND WHATWG URL parsing:
 * - The WHATWG parser is what the browser will run on our `Location` header, so it is the authority on which
 *   origin a target ends up at; checking the *parsed* origin catches every spelling trick the parser itself
 *   normalises (case, default ports, `..` segments, IDNA, tabs it silently strips...).
 * - But the parser is lenient by design: it repairs `\` into `/`, strips control characters and whitespace,
 *   accepts `https:host` without slashes, and it happily resolves `/\evil.com` against our base into
 *   `https://evil.com/` (a foreign origin we would then reject — fine) or `/.//evil` into the path `//evil`
 *   (same origin by itself, but a protocol-relative URL once written into `Location`). Other components on the
 *   way (the analytics app, a CDN, an older browser) may parse the same string differently. So the raw string
 *   must already be unambiguous before the parser gets to repair it: anything that needs repairing is refused.
 * - Finally the *serialised* result is checked again (single leading `/`, no control characters), so what we
 *   emit is exactly what was validated.
 */

export interface ReturnToOptions {
  /** The gateway's public URL (`publicUrl`): same-origin targets resolve against it. */
  publicUrl: string;
  /** Extra absolute origins accepted (`returnTo.allowedOrigins`). Only their origin is compared. */
  allowedOrigins: string[];
  /** The gateway's own prefix (`basePath`): targets inside it are refused to avoid sign-in loops. */
  basePath: string;
}

/** Longer values are refused outright (they only serve to hide tricks from humans reading logs). */
export const RETURN_TO_MAX_LENGTH = 2048;

const FALLBACK = '/';

/** ASCII control characters, space and DEL, plus Unicode whitespace / invisible formatting characters. */
// eslint-disable-next-line no-control-regex
const UNSAFE_CHAR = /[\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff\ufff0-\uffff]/;
/** Control characters (C0, DEL, C1) once decoded; an encoded space is fine in the middle of a path. */
// eslint-disable-next-line no-control-regex
const DECODED_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Percent-encoded control characters (and DEL). */
const ENCODED_CONTROL = /%(?:[01][0-9a-f]|7f)/i;
/** Percent-encoded tab, LF, CR or space at the very start (CVE-2020-5233 variants). */
const ENCODED_LEADING_WS = /^%(?:09|0a|0d|20)/i;
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Returns a safe redirect target for `raw`, or `'/'`.
 *
 * Accepted: a path starting with exactly one `/` (query and fragment kept), which comes back in WHATWG
 * serialised form; an absolute `http(s)://` URL whose origin is `publicUrl`'s (turned into its
 * path + query + fragment) or listed in `allowedOrigins` (returned in full, serialised). Targets inside
 * `basePath` (`/claimgate/sso`, `/claimgate/login`, ...) would loop and fall back to `/`.
 *
 * Never throws, whatever `raw` is.
 */
export function safeReturnTo(raw: unknown, opts: ReturnToOptions): string {
  try {
    // A backslash can only remain in the query or fragment (the path refuses it). Browsers leave it there, but a
    // hash router or an app redirecting to `?next=` may hand `\/evil.example` back to the browser, which reads
    // it as `//evil.example`: encode it, so no emitted target carries one.
    return (check(raw, opts) ?? FALLBACK).replace(/\\/g, '%5C');
  } catch {
    return FALLBACK;
  }
}

function check(raw: unknown, opts: ReturnToOptions): string | undefined {
  if (typeof raw !== 'string' || raw === '' || raw.length > RETURN_TO_MAX_LENGTH) return undefined;
  if (UNSAFE_CHAR.test(raw) || ENCODED_LEADING_WS.test(raw)) return undefined;

  const base = new URL(opts.publicUrl);
  const ownOrigin = base.origin;

  if (raw.startsWith('/')) {
    return samePath(raw, base, opts.basePath);
  }

  const scheme = SCHEME.exec(raw);
  if (!scheme) return undefined; // `evil.com`, `foo/bar`, `?x`, `#x`: not "a path starting with /"
  const protocol = scheme[1]!.toLowerCase();
  if (protocol !== 'http' && protocol !== 'https') return undefined; // javascript:, data:, vbscript:, ftp:...
  const rest = raw.slice(scheme[0].length);
  // Exactly two slashes, then the authority: refuses `https:host`, `https:/host`, `https:///host`, `https:\\host`.
  if (!rest.startsWith('//') || rest[2] === '/' || rest[2] === '\\') return undefined;
  const authorityEnd = firstIndexOf(rest, ['/', '?', '#'], 2);
  const authority = rest.slice(2, authorityEnd);
  // Userinfo (`https://bi.example.com@evil.com`), backslashes (`https://evil.com\@bi.example.com`) and
  // percent-escapes in the host are never needed for a legitimate target and are classic parser-differential
  // material: refuse them before any parser can disagree about where the host starts.
  if (authority === '' || /[@\\%]/.test(authority)) return undefined;
  const pathPart = rest.slice(authorityEnd);
  if (backslashBeforeQuery(pathPart)) return undefined;

  const url = new URL(raw);
  if (url.username !== '' || url.password !== '') return undefined;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;

  if (url.origin === ownOrigin) {
    // Same origin: keep only the path part, and run it through the same checks as a relative target.
    const local = `${url.pathname}${url.search}${url.hash}`;
    return samePath(local, base, opts.basePath);
  }
  const allowed = opts.allowedOrigins.some((o) => originOf(o) === url.origin);
  if (!allowed) return undefined; // includes `https://bi.example.com.evil.com`
  if (pathPart !== '' && !safePathText(pathOnly(pathPart))) return undefined;
  const href = url.href;
  return UNSAFE_CHAR.test(href) ? undefined : href;
}

/** A same-origin target given as a path (raw, starting with `/`). */
function samePath(raw: string, base: URL, basePath: string): string | undefined {
  // `//host` and `/\host` are protocol-relative (CVE-2020-11053).
  if (raw[1] === '/' || raw[1] === '\\') return undefined;
  if (backslashBeforeQuery(raw)) return undefined;
  const path = pathOnly(raw);
  if (!safePathText(path)) return undefined;

  const url = new URL(raw, base);
  if (url.origin !== base.origin) return undefined;
  const out = `${url.pathname}${url.search}${url.hash}`;
  // The serialised form must itself be a single-slash path (e.g. `/.//evil` serialises to `//evil`).
  if (!out.startsWith('/') || out[1] === '/' || out[1] === '\\' || UNSAFE_CHAR.test(out)) return undefined;
  if (!safePathText(url.pathname)) return undefined;
  if (loops(url.pathname, basePath)) return undefined;
  return out;
}

/**
 * Checks a path (no query, no fragment) for tricks that only show once it is decoded: encoded control
 * characters, an encoded backslash, or encoded slashes / dot segments that turn it into `//host` for any
 * component that decodes and normalises it before redirecting again (`/%2F%2Fevil.com`, `/%2f/evil`,
 * `/a/%2e%2e/%2fevil`). Decoding is repeated (double-encoding) up to a small bound; invalid percent-encoding
 * is refused.
 */
function safePathText(path: string): boolean {
  let current = path;
  for (let round = 0; round < 4; round++) {
    if (ENCODED_CONTROL.test(current)) return false;
    if (current.includes('\\') || DECODED_CONTROL.test(current)) return false;
    if (current.startsWith('//') || resolveDots(current).startsWith('//')) return false;
    if (!current.includes('%')) return true;
    let decoded: string;
    try {
      decoded = decodeURIComponent(current);
    } catch {
      return false;
    }
    if (decoded === current) return true;
    current = decoded;
  }
  return false; // still changing after several decodings: nobody legitimate encodes that deep
}

/** RFC 3986 section 5.2.4 dot-segment removal on an already-decoded absolute path (never above the root). */
function resolveDots(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === '.') {
      if (i === segments.length - 1) out.push('');
    } else if (s === '..') {
      out.pop();
      if (i === segments.length - 1) out.push('');
    } else {
      out.push(s);
    }
  }
  return `/${out.join('/')}`;
}

/**
 * Targets inside the gateway's own prefix are refused: returning to `/claimgate/sso`, `/claimgate/login`,
 * `/claimgate/logout` or `/claimgate/callback` would loop (or re-submit a token), and no other gateway page
 * is a meaningful place to land after sign-in. Compared case-insensitively on the decoded path, so
 * `/ClaimGate/%6Cogin` is caught too. With `basePath: /` only the sign-in endpoints themselves are refused.
 */
function loops(pathname: string, basePath: string): boolean {
  let decoded: string;
  try {
    decoded = resolveDots(decodeURIComponent(pathname)).toLowerCase();
  } catch {
    return true;
  }
  const base = basePath.replace(/\/+$/, '').toLowerCase();
  // The console is a page people return to after signing in; it sends a browser without a session to sign in,
  // never onwards, so it cannot loop.
  if (decoded === `${base}/console` || decoded.startsWith(`${base}/console/`)) return false;
  if (base !== '') return decoded === base || decoded.startsWith(`${base}/`);
  return /^\/(sso|login|logout|callback|backchannel-logout|auth)(\/|$)/.test(decoded);
}

function backslashBeforeQuery(s: string): boolean {
  const end = firstIndexOf(s, ['?', '#'], 0);
  return s.slice(0, end).includes('\\');
}

function pathOnly(s: string): string {
  return s.slice(0, firstIndexOf(s, ['?', '#'], 0));
}

function firstIndexOf(s: string, chars: string[], from: number): number {
  let end = s.length;
  for (const c of chars) {
    const i = s.indexOf(c, from);
    if (i !== -1 && i < end) end = i;
  }
  return end;
}

function originOf(u: string): string | undefined {
  try {
    const o = new URL(u).origin;
    return o === 'null' ? undefined : o;
  } catch {
    return undefined;
  }
}
