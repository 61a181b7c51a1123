/**
 * The request path as route rules see it (`routes` in docs/configuration.md: decoded, dot-normalised, `//`
 * collapsed, never the query; docs/security-model.md: an encoded `/`, `\` or `..` is refused).
 *
 * Security: a route rule is only as good as the agreement between the gateway and the app on what path a
 * request names. Every construct on which common servers disagree is either normalised here the way a
 * standards-following server would (RFC 3986 section 5.2.4 dot segments, `//` collapsed) or refused outright:
 * - `%2F` / `%5C` (encoded `/` and `\`): some apps decode them into separators, others keep them in the
 *   segment; `/admin%2Fx` must not be "not under /admin" for us and "/admin/x" for the app.
 * - encoded dot segments (`%2e%2e`, `.%2e`): the classic traversal past a prefix rule (e.g. Apache
 *   CVE-2021-41773, Spring/Tomcat ACL bypasses); whether they count as `..` depends on the server.
 * - `;` path parameters that hide a dot segment (`/public/..;/admin`): Tomcat and Jetty strip `;...` and then
 *   see `..`, other servers see a plain name (the `..;/` ACL bypass family).
 * - backslashes (IIS and some frameworks treat `\` as `/`), NUL and control characters (truncation and log
 *   injection), invalid percent-encoding (each decoder recovers differently), double-encoded separators,
 *   dots or controls (`%252F`, for apps that decode twice).
 *
 * Decision on `;` (Tomcat path parameters, `/admin;x`): it stays a literal character in the normalised
 * path (it is legal in a segment and many apps use it), and the route matcher (core/upstream/route-rules.ts)
 * compares each segment only up to its first `;`, so `/admin;x/y` is under `/admin/*` for the rules even when
 * the app does not strip parameters — the rule then matches more, never less. Only a `;` that turns a segment
 * into a dot segment once stripped (`..;x`, `.;`) is refused here, because that changes which segments exist.
 *
 * Look-alikes (`/admin./x`, `/admin%20/x`, `/reports%2e`, `/admin%EF%BC%8Fx`): Windows file paths, IIS and
 * ASP.NET drop a segment's trailing dots and spaces, and an app that folds Unicode (NFKC) turns a full-width
 * solidus into `/`. To the rules such a segment is a different name, to those apps it is the protected one.
 * They are refused rather than folded: a segment whose NFKC form ends in a dot or white space (`.` and `..`
 * themselves excepted), or that holds a character any common server reads as a separator (`/` or `\` after
 * NFKC, or a slash look-alike NFKC leaves alone, such as U+2215 or U+2044). Refusing is the choice because
 * folding would have to guess each app's folding, while no legitimate link ends a segment that way. Letters
 * that fold (full-width `ａ`) are not refused: the rule matcher compares the NFKC form instead.
 *
 * Absolute-form (`GET http://host/path`) and asterisk-form (`OPTIONS *`) request targets are refused: the
 * gateway is not a forward proxy, and an origin-form path is the only one whose meaning it can pin down.
 */

export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

/** Longer request paths are refused (well above any legitimate analytics URL). */
export const MAX_REQUEST_PATH_LENGTH = 8192;

/** Anything but visible ASCII in the raw request-target (non-ASCII must arrive percent-encoded). */
const RAW_UNSAFE = /[^\x21-\x7e]/;
const BAD_PERCENT = /%(?![0-9a-fA-F]{2})/;
const ENCODED_SEPARATOR = /%(?:2f|5c)/i;
const ENCODED_CONTROL = /%(?:[01][0-9a-f]|7f)/i;
// eslint-disable-next-line no-control-regex
const DECODED_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Separators after NFKC, and slash look-alikes NFKC keeps (division slash, fraction slash, big solidi, set minus, box diagonals). */
const LOOKALIKE_SEPARATOR = /[/\\\u2044\u2215\u2216\u2571\u2572\u29f5\u29f8\u29f9]/u;
/** A trailing dot (or ideographic full stop) or white space, as seen after NFKC. */
const TRAILING_DOT_OR_SPACE = /[.\s\u3002\uff61]$/u;
const QUERY_OR_FRAGMENT = /[?#]/;
/**
 * A path the steps below would return unchanged: segments of unreserved and sub-delimiter characters only (no
 * `%`, `;`, `\`, control or non-ASCII character), none empty but a final `/`, none starting or ending with a dot
 * (so no dot segment). Most request paths are like this; they skip the per-segment decoding and NFKC work.
 */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9\-_~!$&'()*+,=:@]+(?:\.[A-Za-z0-9\-_~!$&'()*+,=:@]+)*)*\/?$/;

/**
 * Normalises a request-target (path with optional query) for route matching. Never throws.
 *
 * Steps: cut at the first `?` or `#` (rules never see the query or fragment); refuse raw control, space,
 * non-ASCII and backslash characters, invalid percent-encoding, encoded `/`, `\` and control characters;
 * decode each segment once (UTF-8; invalid sequences refused); refuse encoded or `;`-disguised dot segments
 * and double-encoded separators, dots or controls; refuse look-alike separators and segments ending in a dot or
 * white space; drop empty segments (collapses `//`) and `.`; resolve `..`
 * (never above the root). A trailing `/` is kept. The result starts with `/` and contains no `//`, `/./`,
 * `/../`, backslash or control character.
 */
export function normalizeRequestPath(rawPathWithQuery: string): NormalizedPath {
  if (typeof rawPathWithQuery !== 'string') return fail('not_a_string');
  if (rawPathWithQuery.length > MAX_REQUEST_PATH_LENGTH) return fail('too_long');
  const q = rawPathWithQuery.search(QUERY_OR_FRAGMENT);
  const raw = q === -1 ? rawPathWithQuery : rawPathWithQuery.slice(0, q);
  if (!raw.startsWith('/')) return fail('not_origin_form');
  if (PLAIN_PATH.test(raw)) return { ok: true, path: raw };
  if (RAW_UNSAFE.test(raw)) return fail('unsafe_character');
  if (raw.includes('\\')) return fail('backslash');
  if (BAD_PERCENT.test(raw)) return fail('invalid_percent_encoding');
  if (ENCODED_SEPARATOR.test(raw)) return fail('encoded_separator');
  if (ENCODED_CONTROL.test(raw)) return fail('encoded_control_character');

  const rawSegments = raw.split('/').slice(1);
  const out: string[] = [];
  let trailingSlash = false;
  for (let i = 0; i < rawSegments.length; i++) {
    const rawSeg = rawSegments[i]!;
    const last = i === rawSegments.length - 1;
    let seg: string;
    try {
      seg = decodeURIComponent(rawSeg);
    } catch {
      return fail('invalid_percent_encoding');
    }
    if (DECODED_CONTROL.test(seg)) return fail('control_character');
    if (seg !== rawSeg && isDot(seg)) return fail('encoded_dot_segment');
    if (isDot(beforeParams(seg)) && !isDot(seg)) return fail('dot_segment_with_parameters');
    if (ENCODED_SEPARATOR.test(seg) || ENCODED_CONTROL.test(seg)) return fail('double_encoding');
    const folded = seg.normalize('NFKC');
    if (LOOKALIKE_SEPARATOR.test(folded)) return fail('lookalike_separator');
    if (!isDot(seg) && (TRAILING_DOT_OR_SPACE.test(folded) || TRAILING_DOT_OR_SPACE.test(beforeParams(folded)))) return fail('trailing_dot_or_space');
    const twice = decodeAgain(seg);
    if (twice !== seg && isDot(beforeParams(twice))) return fail('double_encoding');
    if (seg === '' || seg === '.') {
      trailingSlash = last;
    } else if (seg === '..') {
      out.pop();
      trailingSlash = last;
    } else {
      out.push(seg);
      trailingSlash = false;
    }
  }
  const path = out.length === 0 ? '/' : `/${out.join('/')}${trailingSlash ? '/' : ''}`;
  return { ok: true, path };
}

function fail(reason: string): NormalizedPath {
  return { ok: false, reason };
}

function isDot(seg: string): boolean {
  return seg === '.' || seg === '..';
}

function beforeParams(seg: string): string {
  const i = seg.indexOf(';');
  return i === -1 ? seg : seg.slice(0, i);
}

/** A second decoding, as a double-decoding app would do it; undecodable text is left as is. */
function decodeAgain(seg: string): string {
  if (!seg.includes('%')) return seg;
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}
