import type { InvalidationBus } from './invalidation.js';

/**
 * A per-key cache whose entries live until the invalidation bus says the key changed. While the bus is
 * not reliable (its listener is down), every read goes to the loader: stale authorisation is never
 * served. Concurrent misses of one key share a single load. As a second line behind the bus (a change whose
 * NOTIFY was lost after its commit), no entry is served for longer than `maxAgeMs`. At most `maxEntries` entries are
 * kept: when full, entries past their age go first, then the least recently loaded.
 */
/**
 * Default bound of one cache. Entries are only useful for `maxAgeMs` (30 s), so this is the number of distinct keys
 * (sessions, users, credentials) one process serves in that window before it reloads some from the database.
 */
const DEFAULT_MAX_ENTRIES = 20_000;

export class InvalidatedCache<V> {
  private readonly entries = new Map<string, { value: V; at: number; owner?: string }>();
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly inflight = new Map<string, Promise<V | null>>();
  /** Bumped by every invalidation, so a load that raced with one is not stored. */
  private generation = 0;

  constructor(
    private readonly bus: InvalidationBus,
    kind: 'user' | 'session' | 'credential' | 'mapping',
    private readonly loader: (key: string) => Promise<V | null>,
    private readonly options: {
      maxEntries?: number;
      /** Also drop entries whose owner changed, e.g. a user's sessions when the user is invalidated. */
      owner?: { kind: 'user' | 'credential'; of: (v: V) => string };
      /** Backstop lifetime of an entry (default 30 s). */
      maxAgeMs?: number;
      now?: () => number;
    } = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 30_000;
    this.maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.now = options.now ?? Date.now;
    bus.on((m) => {
      this.generation++;
      // A load that started before this change may return the old value: later callers must not join it.
      if (m.kind === 'all') {
        this.entries.clear();
        this.byOwner.clear();
        this.inflight.clear();
      } else if (m.kind === kind) {
        this.drop(m.id);
        this.inflight.delete(m.id);
      } else if (options.owner && m.kind === options.owner.kind) {
        for (const key of this.byOwner.get(m.id) ?? []) {
          this.entries.delete(key);
          this.inflight.delete(key);
        }
        this.byOwner.delete(m.id);
        // Entries of this owner still loading are not in byOwner yet; drop every pending load to be sure.
        this.inflight.clear();
      }
    });
  }

  private readonly byOwner = new Map<string, Set<string>>();

  /**
   * The value `get` would answer from memory, without a promise (the hot path's common case); undefined when `get`
   * would load (no entry, too old, or the bus not reliable).
   */
  peek(key: string): V | undefined {
    if (!this.bus.reliable) return undefined;
    const hit = this.entries.get(key);
    return hit !== undefined && this.now() - hit.at < this.maxAgeMs ? hit.value : undefined;
  }

  async get(key: string): Promise<V | null> {
    const cached = this.peek(key);
    if (cached !== undefined) return cached;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const gen = this.generation;
    const p: Promise<V | null> = this.loader(key).then(
      (v) => {
        if (this.inflight.get(key) === p) this.inflight.delete(key);
        if (v !== null && this.bus.reliable && gen === this.generation) {
          // Deleted first so the map's order stays the order of loading (the oldest first, for eviction).
          this.drop(key);
          if (this.entries.size >= this.maxEntries) this.evict();
          const owner = this.options.owner?.of(v);
          this.entries.set(key, { value: v, at: this.now(), owner });
          if (owner !== undefined) {
            let set = this.byOwner.get(owner);
            if (!set) this.byOwner.set(owner, (set = new Set()));
            set.add(key);
          }
        }
        return v;
      },
      (e) => {
        if (this.inflight.get(key) === p) this.inflight.delete(key);
        throw e;
      },
    );
    this.inflight.set(key, p);
    return p;
  }

  /** Local-only removal (the caller publishes on the bus when other processes must know). */
  delete(key: string): void {
    this.drop(key);
  }

  /** Removes an entry and its key from its owner's set (so the owner index never outgrows the entries). */
  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    if (e.owner === undefined) return;
    const set = this.byOwner.get(e.owner);
    set?.delete(key);
    if (set?.size === 0) this.byOwner.delete(e.owner);
  }

  /** Frees a tenth of the table: entries past their age (useless anyway), then the oldest loads. */
  private evict(): void {
    const target = Math.floor(this.maxEntries * 0.9);
    const now = this.now();
    for (const [k, e] of this.entries) if (now - e.at >= this.maxAgeMs) this.drop(k);
    for (const k of this.entries.keys()) {
      if (this.entries.size <= target) break;
      this.drop(k);
    }
  }

  get size(): number {
    return this.entries.size;
  }

}
