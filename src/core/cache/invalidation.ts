/**
 * Cross-instance cache invalidation (docs/how-it-works.md#how-changes-reach-every-process: within 1 s on every process of every
 * instance). Changes are published on a PostgreSQL NOTIFY channel; every process listens. While the
 * listener is down, `reliable` is false and caches read through to the database, so a missed message
 * can never keep stale authorisation alive. After a reconnect every cache is flushed (messages sent
 * while we were deaf are lost).
 */

/**
 * What changed: a user (profile, grants, lifecycle), a session, a credential, a mapping, a token (by hash: it was
 * used as a sign-in link, so no cached bearer result may stand for it), or everything.
 */
export type Invalidation =
  | { kind: 'user'; id: string }
  | { kind: 'token'; id: string }
  | { kind: 'session'; id: string }
  | { kind: 'credential'; id: string }
  | { kind: 'mapping'; id: string }
  | { kind: 'all' };

export interface InvalidationTransport {
  /** Sends the payloads, in order, in one round trip. */
  publish(payloads: readonly string[]): Promise<void>;
  /** Subscribes; `onState(true)` when (re)connected, `onState(false)` when the listener is down. */
  subscribe(onMessage: (payload: string) => void, onState: (listening: boolean) => void): Promise<() => Promise<void>>;
}

/** Messages sent together at most (each is ~100 bytes; one NOTIFY payload may hold 8,000). */
const MAX_BATCH = 64;

export class InvalidationBus {
  private readonly handlers = new Set<(m: Invalidation) => void>();
  /** Messages waiting for the send in flight to finish; they then go out together. */
  private queue: { payload: string; sent: () => void }[] = [];
  private sending = false;
  private listening = false;
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(private readonly transport: InvalidationTransport | null) {}

  /** True while cross-instance messages are being received; caches must not serve entries otherwise. */
  get reliable(): boolean {
    return this.listening;
  }

  async start(): Promise<void> {
    if (!this.transport) {
      // Single process, no database listener (tests): local publication is the whole truth.
      this.listening = true;
      return;
    }
    this.unsubscribe = await this.transport.subscribe(
      (payload) => {
        const m = decode(payload);
        if (m) this.dispatch(m);
      },
      (state) => {
        const wasListening = this.listening;
        this.listening = state;
        if (state && !wasListening) this.dispatch({ kind: 'all' });
      },
    );
  }

  async stop(): Promise<void> {
    this.listening = false;
    await this.unsubscribe?.();
    this.unsubscribe = null;
  }

  on(handler: (m: Invalidation) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /**
   * Applies locally at once, then tells the other processes; resolves once they have been told (or the retries
   * gave up). While a send is in flight, later messages wait and then go out together in one round trip: under a
   * wave of sign-ins (each used link is a message) the messages cost a statement per batch, not one per sign-in.
   */
  async publish(m: Invalidation): Promise<void> {
    this.dispatch(m);
    if (!this.transport) return;
    await new Promise<void>((sent) => {
      this.queue.push({ payload: encode(m), sent });
      if (!this.sending) void this.sendQueued();
    });
  }

  private async sendQueued(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, MAX_BATCH);
        await this.send(batch.map((b) => b.payload));
        for (const b of batch) b.sent();
      }
    } finally {
      this.sending = false;
    }
  }

  private async send(payloads: string[]): Promise<void> {
    // The write itself already happened and local caches are already invalidated; the other processes must hear
    // of it, so a failed NOTIFY is retried a few times. Should it still be lost, their caches' maximum age is the
    // backstop (see InvalidatedCache).
    for (const delay of [0, 100, 400]) {
      if (delay) await new Promise((r) => setTimeout(r, delay));
      try {
        await this.transport!.publish(payloads);
        return;
      } catch {
        // retried below
      }
    }
  }

  private dispatch(m: Invalidation): void {
    for (const h of this.handlers) h(m);
  }
}

function encode(m: Invalidation): string {
  return m.kind === 'all' ? 'all' : `${m.kind}:${m.id}`;
}

function decode(payload: string): Invalidation | null {
  if (payload === 'all') return { kind: 'all' };
  const i = payload.indexOf(':');
  if (i < 0) return null;
  const kind = payload.slice(0, i);
  const id = payload.slice(i + 1);
  if (kind === 'user' || kind === 'session' || kind === 'credential' || kind === 'mapping' || kind === 'token') return { kind, id };
  return null;
}
