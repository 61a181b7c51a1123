import type { Knex } from 'knex';
import type { Logger } from '../../observability/logger.js';
import type { Tracing } from '../../observability/tracing.js';
import { redactString } from '../../observability/redact.js';
import type { PushEvent } from './data.js';
import type { EventReceiver } from './receiver.js';

const BATCH = 100;
/** A claim outlives a stuck worker by this much; then another instance takes the rows over. */
const CLAIM_MS = 5 * 60_000;
const MAX_BACKOFF_S = 600;

/** A queued event as a worker claims it. */
interface ClaimedRow {
  id: string;
  event: unknown;
  push_jti: string | null;
  attempts: number;
}

/**
 * Applies queued events (the part of a large push not applied before the answer, and pushes that arrive while
 * the queue is not empty) strictly in queue order. One worker at a time holds the head of the queue (see claim),
 * so instances never take the same rows nor overtake each other; an event's receipt makes a second application
 * a no-op anyway. A failure is retried with exponential back-off, and every later event waits behind it.
 */
export class EventQueueWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly deps: {
      knex: Knex;
      receiver: EventReceiver;
      logger: Logger;
      now: () => number;
      intervalMs?: number;
      /** Spans: each claimed batch is applied in a root span `claimgate.event_queue`. */
      tracing?: Pick<Tracing, 'enabled' | 'span'>;
    },
  ) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.drain()
        .then(() => undefined)
        .catch((e: unknown) => {
          if (!this.stopped) this.deps.logger.warn('event queue run failed', { cause: (e as Error).message });
        })
        .finally(() => {
          this.running = null;
          if (!this.stopped) {
            this.timer = setTimeout(tick, this.deps.intervalMs ?? 500);
            this.timer.unref();
          }
        });
    };
    this.timer = setTimeout(tick, this.deps.intervalMs ?? 500);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Applies every due event; returns how many were applied. */
  async drain(): Promise<number> {
    let applied = 0;
    const tracing = this.deps.tracing?.enabled ? this.deps.tracing : undefined;
    for (;;) {
      const rows = await this.claim();
      if (!rows.length) return applied;
      const batch = tracing
        ? await tracing.span('claimgate.event_queue', { 'claimgate.events': rows.length }, () => this.apply(rows))
        : await this.apply(rows);
      applied += batch.applied;
      if (batch.stop) return applied;
    }
  }

  /** Applies a claimed batch in order; stops at a failure (or a stop), releasing the rest. */
  private async apply(rows: ClaimedRow[]): Promise<{ applied: number; stop: boolean }> {
    let applied = 0;
    for (const [i, row] of rows.entries()) {
      if (this.stopped) {
        // Stopping: what this worker claimed but did not apply goes back, so another instance need not wait for
        // the claim to expire.
        await this.deps.knex('event_queue').whereIn('id', rows.slice(i).map((r) => r.id)).update({ claimed_until: null });
        return { applied, stop: true };
      }
      const event = (typeof row.event === 'string' ? JSON.parse(row.event) : row.event) as PushEvent;
      try {
        await this.deps.receiver.applyOne(event, row.push_jti);
        await this.deps.knex('event_queue').where({ id: row.id }).delete();
        applied++;
      } catch (e) {
        const attempts = Number(row.attempts) + 1;
        const wait = Math.min(2 ** attempts, MAX_BACKOFF_S) * 1000;
        const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
        await this.deps.knex('event_queue').where({ id: row.id }).update({
          attempts,
          next_attempt_at: new Date(this.deps.now() + wait),
          claimed_until: null,
          last_error: redactString(String(cause)).slice(0, 500),
        });
        // The rest of the batch waits for it: released, taken again at the next run.
        const later = rows.slice(i + 1).map((r) => r.id);
        if (later.length) await this.deps.knex('event_queue').whereIn('id', later).update({ claimed_until: null });
        return { applied, stop: true };
      }
    }
    return { applied, stop: false };
  }

  /**
   * Claims the head of the queue: the oldest rows, in order, up to a batch. Only one worker holds the head at a
   * time (the first row is locked while claiming, and its claim then keeps other instances off), and a head
   * waiting for its retry holds every row behind it, so no event is ever applied before one queued ahead of it.
   */
  private async claim(): Promise<ClaimedRow[]> {
    const now = new Date(this.deps.now());
    return this.deps.knex.transaction(async (trx) => {
      const first = (await trx('event_queue').orderBy('id').first('id')) as { id: string } | undefined;
      if (!first) return [];
      const head = (await trx('event_queue').where({ id: first.id }).forUpdate().skipLocked().first('next_attempt_at', 'claimed_until')) as
        | { next_attempt_at: Date | string; claimed_until: Date | string | null }
        | undefined;
      // Another instance is claiming it, holds it, or it waits for its retry: nothing behind it may go first.
      if (!head) return [];
      if (new Date(head.next_attempt_at).getTime() > now.getTime()) return [];
      if (head.claimed_until !== null && new Date(head.claimed_until).getTime() >= now.getTime()) return [];
      const ids = (await trx('event_queue').where('id', '>=', first.id).orderBy('id').limit(BATCH).forUpdate().pluck('id')) as string[];
      await trx('event_queue').whereIn('id', ids).update({ claimed_until: new Date(now.getTime() + CLAIM_MS) });
      const rows = (await trx('event_queue').whereIn('id', ids).orderBy('id').select('id', 'event', 'push_jti', 'attempts')) as ClaimedRow[];
      return rows;
    });
  }
}
