/**
 * Who the client is, behind zero or more reverse proxies (`trustedProxies`; docs/deployment.md#tls-and-proxies-in-front).
 *
 * Security: `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host`, `X-Original-URI` and
 * `X-Forwarded-Uri` are ordinary request headers that any client can send. Believing them from anyone lets a
 * client pick its own IP (defeating rate limits and audit trails) or, in forward-auth mode, pick the path the
 * route rules are evaluated for (an authorisation bypass). They are therefore read ONLY when the direct peer
 * (the TCP socket's address) is listed in `trustedProxies` — exact addresses or CIDR ranges, IPv4 and IPv6,
 * IPv4-mapped IPv6 (`::ffff:10.0.0.1`) treated as the IPv4 address. The default list is empty: nothing is
 * believed.
 *
 * The client address is the rightmost `X-Forwarded-For` hop that is not itself a trusted proxy: hops to the
 * left of it were written by a party we do not trust and may be forged.
 */
import { BlockList, isIP } from 'node:net';

export type HeaderBag = Record<string, string | string[] | undefined>;

export interface ResolvedClient {
  /** The client's address ('' when the socket has none, e.g. already closed). */
  ip: string;
  /** `http` or `https` from a trusted `X-Forwarded-Proto`. */
  proto?: string;
  /** host[:port] from a trusted `X-Forwarded-Host`. */
  host?: string;
  /** The original request-target from a trusted `X-Original-URI` (else `X-Forwarded-Uri`). */
  originalUri?: string;
  /** Whether the direct peer is a trusted proxy (and so the fields above were read at all). */
  trusted: boolean;
}

/** A compiled `trustedProxies` list. */
export interface TrustedProxies {
  has(address: string | undefined): boolean;
}

const compiledCache = new WeakMap<readonly string[], TrustedProxies>();

/**
 * Compiles `trustedProxies` entries (`10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`, `::ffff:10.0.0.1`).
 * Throws on an entry that is neither, naming `trustedProxies[i]` — config validation should call this at
 * load time; silently ignoring a typo would leave operators wondering why their proxy is not believed.
 */
export function compileTrustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList();
  let empty = true;
  entries.forEach((entry, i) => {
    const [addrPart, prefixPart, extra] = entry.trim().split('/');
    const addr = normalizeAddress(addrPart ?? '');
    const family = addr === undefined ? 0 : isIP(addr);
    const bad = () => new Error(`trustedProxies[${i}]: "${entry}" is not an IP address or CIDR range (e.g. 10.0.0.0/8, fd00::/8)`);
    if (!addr || family === 0 || extra !== undefined) throw bad();
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixPart === undefined) {
      list.addAddress(addr, type);
    } else {
      if (!/^\d{1,3}$/.test(prefixPart)) throw bad();
      let prefix = Number(prefixPart);
      // `::ffff:10.0.0.0/104` written as a mapped range: the IPv4 part of the prefix.
      if (family === 4 && addrPart!.includes(':')) {
        if (prefix < 96) throw bad();
        prefix -= 96;
      }
      if (prefix > (family === 4 ? 32 : 128)) throw bad();
      list.addSubnet(addr, prefix, type);
    }
    empty = false;
  });
  return {
    has(address) {
      if (empty || address === undefined) return false;
      const a = normalizeAddress(address);
      if (!a) return false;
      const family = isIP(a);
      return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/**
 * Resolves the client behind `remoteAddress` (the socket's peer). Forwarding headers are believed only when
 * that peer is trusted; then the client is the rightmost untrusted `X-Forwarded-For` hop (malformed hops stop
 * the walk at the last good address), `proto` must be `http`/`https`, `host` a plain host[:port], and the
 * original URI an origin-form target without control characters or whitespace. With several comma-separated
 * values (several proxies appending), `proto` and `host` come from the rightmost one, which the trusted peer
 * wrote.
 */
export function resolveClient(
  remoteAddress: string | undefined,
  headers: HeaderBag,
  trustedProxies: readonly string[] | TrustedProxies,
): ResolvedClient {
  const trust = Array.isArray(trustedProxies) ? cached(trustedProxies) : (trustedProxies as TrustedProxies);
  const peer = remoteAddress === undefined ? '' : (normalizeAddress(remoteAddress) ?? remoteAddress);
  if (!trust.has(remoteAddress)) return { ip: peer, trusted: false };

  let ip = peer;
  const hops = listValues(headers['x-forwarded-for']);
  for (let i = hops.length - 1; i >= 0 && trust.has(ip); i--) {
    const hop = normalizeAddress(stripPort(hops[i]!));
    if (!hop || isIP(hop) === 0) break;
    ip = hop;
  }

  const result: ResolvedClient = { ip, trusted: true };
  const proto = lastValue(headers['x-forwarded-proto'])?.toLowerCase();
  if (proto === 'http' || proto === 'https') result.proto = proto;
  const host = lastValue(headers['x-forwarded-host']);
  if (host && host.length <= 255 && /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host)) {
    result.host = host;
  }
  const uri = singleValue(headers['x-original-uri']) ?? singleValue(headers['x-forwarded-uri']);
  if (uri !== undefined && uri.startsWith('/') && uri.length <= 8192 && !/[^\x21-\x7e]/.test(uri)) {
    result.originalUri = uri;
  }
  return result;
}

function cached(entries: readonly string[]): TrustedProxies {
  let t = compiledCache.get(entries);
  if (!t) {
    t = compileTrustedProxies(entries);
    compiledCache.set(entries, t);
  }
  return t;
}

/** Lowercase, no IPv6 zone id, IPv4-mapped IPv6 as plain IPv4. `undefined` when empty. */
function normalizeAddress(address: string): string | undefined {
  let a = address.trim().toLowerCase();
  const zone = a.indexOf('%');
  if (zone !== -1) a = a.slice(0, zone);
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1];
  return a === '' ? undefined : a;
}

/** `1.2.3.4:5678` → `1.2.3.4`; `[::1]:80` → `::1`; anything else unchanged. */
function stripPort(hop: string): string {
  const h = hop.trim();
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (v6) return v6[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(h);
  return v4 ? v4[1]! : h;
}

function listValues(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  const joined = Array.isArray(v) ? v.join(',') : v;
  return joined.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function lastValue(v: string | string[] | undefined): string | undefined {
  const values = listValues(v);
  return values[values.length - 1];
}

/** A header that must hold exactly one value (a repeated X-Original-URI is ambiguous and ignored). */
function singleValue(v: string | string[] | undefined): string | undefined {
  if (Array.isArray(v)) return v.length === 1 ? v[0] : undefined;
  return v === undefined || v === '' ? undefined : v;
}
