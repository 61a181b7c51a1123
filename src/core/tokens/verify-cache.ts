import { hash } from 'node:crypto';

/** Options of {@link VerifyCache}. */
export interface VerifyCacheOptions {
  /**
   * Most entries kept (least recently used evicted first). Default 10000. Only tokens that passed full
   * verification get in, so an attacker cannot fill it with garbage; 0 disables caching.
   */
  maxEntries?: number;
}

/**
 * SHA-256 of a token, base64url. The cache key, and what callers may log or store instead of the token
 * (a token never reaches a log line: docs/security-model.md).
 */
export function hashToken(token: string): string {
  // One-shot: no Hash object per call (about half the cost of createHash for a token; bearer requests hash every time).
  return hash('sha256', token, 'base64url');
}

/**
 * A bounded LRU of successfully verified bearer tokens, keyed by the token's SHA-256, so a token reused on
 * every request of an API client pays for its signature check once (the bearer-token throughput in
 * docs/operations.md#performance depends on it).
 *
 * Each entry carries its own `until` (seconds): the TrustMap sets it to min(exp, iat + maxTokenAge), with no
 * clock tolerance added, so a cached answer is never more permissive than a fresh verification would be.
 *
 * Not invalidated when an issuer's key set changes: a cached entry was verified against a key that was trusted
 * at the time, and key-set refreshes only add trust for new keys; a key the IdP withdraws stops working for new
 * tokens at the next JWKS refresh, while tokens it already signed stay valid here until their own `exp`, exactly
 * as they would for any verifier that verified them once. Call {@link clear} to drop everything (e.g. after a
 * configuration reload that removes an issuer).
 *
 * All operations are O(1): a Map keeps insertion order, and a hit is moved to the end.
 */
export class VerifyCache<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();
  private readonly maxEntries: number;

  constructor(options: VerifyCacheOptions = {}) {
    this.maxEntries = Math.max(0, Math.floor(options.maxEntries ?? 10000));
  }

  /** The cached value for `key` if still valid at `now` (seconds); an expired entry is dropped. */
  get(key: string, now: number): T | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    if (now >= e.until) return undefined;
    this.entries.set(key, e); // most recently used last
    return e.value;
  }

  /** Remembers `value` until `until` (seconds, exclusive). Evicts the least recently used entry when full. */
  set(key: string, value: T, until: number): void {
    if (this.maxEntries === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, until });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  /** Drops one entry. */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every entry. */
  clear(): void {
    this.entries.clear();
  }

  /** Number of entries (expired ones included until they are looked up or evicted). */
  get size(): number {
    return this.entries.size;
  }
}
