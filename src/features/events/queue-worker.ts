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

/**
 * Applies queued events (the part of a large push not applied before the answer) in queue order. Rows are claimed
 * with `FOR UPDATE SKIP LOCKED`, so instances never take the same rows; an event's receipt makes a second
 * application a no-op anyway. A failure is retried with exponential back-off, and stops the batch so later
 * events do not overtake it.
 */
interface ClaimedRow {
  id: string;
  event: unknown;
  push_jti: string | null;
  attempts: number;
}

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
      if (this.stopped) return { applied, stop: true };
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

  private async claim(): Promise<ClaimedRow[]> {
    const now = new Date(this.deps.now());
    return this.deps.knex.transaction(async (trx) => {
      const ids = (await trx('event_queue')
        .where('next_attempt_at', '<=', now)
        .andWhere((q) => q.whereNull('claimed_until').orWhere('claimed_until', '<', now))
        .orderBy('id')
        .limit(BATCH)
        .forUpdate()
        .skipLocked()
        .pluck('id')) as string[];
      if (!ids.length) return [];
      await trx('event_queue').whereIn('id', ids).update({ claimed_until: new Date(now.getTime() + CLAIM_MS) });
      const rows = (await trx('event_queue').whereIn('id', ids).orderBy('id').select('id', 'event', 'push_jti', 'attempts')) as ClaimedRow[];
      return rows;
    });
  }
}
