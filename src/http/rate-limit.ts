import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/schema.js';
import { GatewayError } from '../errors.js';
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

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= 60_000) this.windows.delete(k);
    if (this.windows.size >= this.maxKeys) this.windows.clear();
  }
}

export type LimitName = 'sso' | 'token' | 'events' | 'adminAuth';

/** The limiters of `rateLimits` (docs/operations.md#rate-limits), one set per gateway. */
export class RateLimits {
  private readonly limiters: Record<LimitName, RateLimiter>;

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
    return resolveClient(req.socket?.remoteAddress, req.headers, this.config.trustedProxies).ip || 'unknown';
  }

  /** Counts a request; throws `429 rate_limited` with `Retry-After` when the client is over the limit. */
  check(name: LimitName, req: IncomingMessage, extraKey?: string): void {
    const wait = this.limiters[name].hit(extraKey ? `${this.clientKey(req)}|${extraKey}` : this.clientKey(req));
    if (wait > 0) throw tooMany(wait);
  }

  /** Counts a request and returns the seconds to wait (0: go ahead), for endpoints with their own error bodies. */
  retryAfter(name: LimitName, req: IncomingMessage): number {
    return this.limiters[name].hit(this.clientKey(req));
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
  return new GatewayError('rate_limited', 429, 'Too many requests; try again later.', { extra: { retryAfter } });
}

