import type { IncomingMessage } from 'node:http';
import type { Config } from '../core/config/schema.js';
import { GatewayError } from '../core/errors/errors.js';
import { resolveClient } from './client-ip.js';

/**
 * A fixed-window counter per key (client address, credential): `perMinute` events per minute, then `429` with
 * `Retry-After` until the window ends. In memory, per process: N processes allow up to N times the limit, which
 * is what a per-instance abuse brake needs (it stops floods; it is not a quota).
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Counts one event for `key`; returns the seconds to wait when over the limit, else 0. */
  hit(key: string): number {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= 60_000) {
      if (!w && this.windows.size >= this.maxKeys) this.sweep(now);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    return w.count > this.perMinute ? Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000)) : 0;
  }

  /** True when `key` is already over the limit, without counting (for "failed attempts" limits). */
  blocked(key: string): number {
    const w = this.windows.get(key);
    const now = this.now();
    if (!w || now - w.start >= 60_000 || w.count < this.perMinute) return 0;
    return Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000));
  }

  /**
   * Makes room when the table is full. A client over its limit is the one thing the table exists to remember, so
   * it goes last: first expired windows, then clients under their limit, and only when blocked clients alone fill
   * the table, those whose windows end soonest. Each sweep frees a tenth of the table, so a flood of new keys
   * costs one pass per many inserts, not one per insert.
   */
  private sweep(now: number): void {
    const target = Math.floor(this.maxKeys * 0.9);
    for (const [k, w] of this.windows) if (now - w.start >= 60_000) this.windows.delete(k);
    if (this.windows.size <= target) return;
    for (const [k, w] of this.windows) {
      if (w.count < this.perMinute) this.windows.delete(k);
      if (this.windows.size <= target) return;
    }
    const soonest = [...this.windows].sort((a, b) => a[1].start - b[1].start);
    for (const [k] of soonest.slice(0, this.windows.size - target)) this.windows.delete(k);
  }

  /** How many keys are stored (for tests and metrics). */
  get size(): number {
    return this.windows.size;
  }
}

/**
 * The key of a client address. An IPv6 client usually holds a whole /64 (SLAAC, privacy addresses), so one key
 * per address would give it 2^64 fresh counters; it is counted per /64. An IPv4-mapped address is its IPv4 one.
 */
export function addressKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const bare = ip.replace(/%.*$/, '').toLowerCase();
  const mapped = /^(?:(?:0{1,4}:){5}|::)ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(bare);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = bare.split('::', 2);
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::1.2.3.4) takes two groups; only the first four groups matter here.
  const fill = tail === undefined ? 0 : Math.max(0, 8 - left.length - right.length - (right.at(-1)?.includes('.') ? 1 : 0));
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right].slice(0, 4);
  while (groups.length < 4) groups.push('0');
  return `${groups.map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export type LimitName = 'sso' | 'token' | 'events' | 'adminAuth';

/** The limiters of `rateLimits` (docs/operations.md#rate-limits), one set per gateway. */
export class RateLimits {
  private readonly limiters: Record<LimitName, RateLimiter>;
  /**
   * What each request was already told, per limit: a request is counted once per limit, however many steps ask,
   * so a route can count a request before it reads the body and its handler can ask again for free.
   */
  private readonly counted = new WeakMap<IncomingMessage, Map<LimitName, number>>();

  constructor(
    private readonly config: Pick<Config, 'rateLimits' | 'trustedProxies'>,
    now: () => number = Date.now,
  ) {
    const r = config.rateLimits;
    this.limiters = {
      sso: new RateLimiter(r.sso.perMinute, now),
      token: new RateLimiter(r.token.perMinute, now),
      events: new RateLimiter(r.events.perMinute, now),
      adminAuth: new RateLimiter(r.adminAuth.perMinute, now),
    };
  }

  /** The client address as far as it can be believed (X-Forwarded-For only from trustedProxies). */
  clientKey(req: IncomingMessage): string {
    return addressKey(resolveClient(req.socket?.remoteAddress, req.headers, this.config.trustedProxies).ip) || 'unknown';
  }

  /** Counts a request; throws `429 rate_limited` with `Retry-After` when the client is over the limit. */
  check(name: LimitName, req: IncomingMessage, extraKey?: string): void {
    const wait = extraKey ? this.limiters[name].hit(`${this.clientKey(req)}|${extraKey}`) : this.retryAfter(name, req);
    if (wait > 0) throw tooMany(wait);
  }

  /** Counts a request and returns the seconds to wait (0: go ahead), for endpoints with their own error bodies. */
  retryAfter(name: LimitName, req: IncomingMessage): number {
    let seen = this.counted.get(req);
    const known = seen?.get(name);
    if (known !== undefined) return known;
    const wait = this.limiters[name].hit(this.clientKey(req));
    if (!seen) this.counted.set(req, (seen = new Map()));
    seen.set(name, wait);
    return wait;
  }

  /** Throws `429` when the client already failed too often; failures are counted with {@link failed}. */
  checkFailures(name: LimitName, req: IncomingMessage): void {
    const wait = this.limiters[name].blocked(this.clientKey(req));
    if (wait > 0) throw tooMany(wait);
  }

  failed(name: LimitName, req: IncomingMessage): void {
    this.limiters[name].hit(this.clientKey(req));
  }
}

function tooMany(retryAfter: number): GatewayError {
  return new GatewayError('rate_limited', 'Too many requests; try again later.', { extra: { retryAfter } });
}


/** Middleware: counts a request against a limit before its body is read (a refused client does not get to send it). */
export function countFirst(limits: Pick<RateLimits, 'check' | 'retryAfter'>, name: LimitName) {
  return (req: IncomingMessage & { complete: boolean }, res: { setHeader(name: string, value: string): unknown }, next: () => void): void => {
    // Refused, the body stays unread and the connection cannot be reused.
    if (limits.retryAfter(name, req) > 0 && !req.complete) res.setHeader('Connection', 'close');
    limits.check(name, req);
    next();
  };
}
