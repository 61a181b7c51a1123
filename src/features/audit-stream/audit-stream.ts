import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../../core/config/schema.js';
import type { Database } from '../../store/db/index.js';
import type { JobLock } from '../../store/db/job-lock.js';
import type { Logger } from '../../observability/logger.js';
import type { AuditRow } from '../../store/audit-log.js';
import { createSink, type AuditSink, type StreamedAuditEvent } from './audit-sinks.js';

type StreamConfig = NonNullable<Config['audit']['stream']>;

const IDLE_POLL_MS = 500;

interface OutboxRow extends AuditRow {
  oid: string | number;
}

/**
 * Delivers the audit trail to a SIEM. A database trigger queues every audit event in `audit_stream_outbox` in the
 * transaction that wrote it, so nothing that commits can be missed and a sign-in never waits for the receiver. One
 * process at a time (across every instance) reads the outbox in order, hands a batch to the sink, and deletes the
 * batch only once the sink took it: at least once, in order. While the receiver is down the batch is retried with
 * exponential back-off; the outbox is bounded by `maxBacklog` (the oldest rows go first, counted and logged).
 */
export class AuditStreamer {
  private readonly sink: AuditSink | null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private failures = 0;
  private retryAt = 0;
  private stopped = false;
  private readonly delivered?: Counter;
  private readonly failed?: Counter;
  private readonly dropped?: Counter;

  constructor(
    private readonly deps: {
      db: Database;
      config: StreamConfig | null;
      lock: JobLock;
      logger: Logger;
      registry?: Registry;
      sink?: AuditSink;
      now?: () => number;
    },
  ) {
    this.sink = deps.config ? (deps.sink ?? createSink(deps.config)) : null;
    if (deps.config && deps.registry) {
      const registers = [deps.registry];
      this.delivered = new Counter({ name: 'claimgate_audit_stream_delivered_total', help: 'Audit events the stream delivered.', registers });
      this.failed = new Counter({ name: 'claimgate_audit_stream_failures_total', help: 'Failed deliveries of an audit batch (each is retried).', registers });
      this.dropped = new Counter({
        name: 'claimgate_audit_stream_dropped_total',
        help: 'Audit events dropped from the stream because the backlog passed maxBacklog (the audit trail keeps them).',
        registers,
      });
      const knex = deps.db.knex;
      new Gauge({
        name: 'claimgate_audit_stream_backlog',
        help: 'Audit events waiting to be delivered to the stream (one number per database: the workers agree).',
        registers,
        aggregator: 'max',
        async collect() {
          const r = (await knex('audit_stream_outbox').count({ n: '*' }).first()) as { n: string | number } | undefined;
          this.set(Number(r?.n ?? 0));
        },
      });
    }
  }

  private get now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** Records whether this deployment streams (the trigger reads it) and starts delivering. */
  async start(): Promise<void> {
    await this.deps.db.knex('audit_stream_settings').where({ id: 1 }).update({ enabled: this.deps.config !== null });
    if (!this.deps.config) return;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.deps.lock
        .tryRun('audit-stream', () => this.drain())
        .catch((e: unknown) => this.deps.logger.warn('audit stream: the outbox could not be read', { cause: (e as Error).message }))
        .finally(() => {
          this.running = null;
          this.schedule(Math.max(IDLE_POLL_MS, this.retryAt - this.now));
        });
    }, ms);
    this.timer.unref();
  }

  /** Delivers batches until the outbox is empty or the sink fails. */
  private async drain(): Promise<void> {
    const config = this.deps.config!;
    const knex = this.deps.db.knex;
    if (this.now < this.retryAt) return;
    await this.trim(config.maxBacklog);
    while (!this.stopped) {
      const rows = (await knex('audit_stream_outbox as o')
        .join('audit_events as a', 'a.id', 'o.audit_id')
        .select('o.id as oid', 'a.id', 'a.at', 'a.type', 'a.user_id', 'a.usercode', 'a.actor', 'a.source', 'a.detail')
        .orderBy('o.id')
        .limit(config.batchSize)) as OutboxRow[];
      if (rows.length === 0) {
        // Outbox rows whose audit row is gone (a purge) are not deliverable; drop them so they cannot pile up.
        await knex('audit_stream_outbox').whereNotExists(knex('audit_events').whereRaw('audit_events.id = audit_stream_outbox.audit_id')).delete();
        return;
      }
      try {
        await this.sink!.send(rows.map(toStreamed));
      } catch (e) {
        this.failures++;
        this.failed?.inc();
        const delay = Math.min(config.retryMaxSeconds * 1000, 250 * 2 ** Math.min(this.failures, 16));
        this.retryAt = this.now + delay;
        this.deps.logger.warn('audit stream: delivery failed; retrying', { cause: (e as Error).message, retryInMs: delay, failures: this.failures });
        return;
      }
      if (this.failures > 0) this.deps.logger.info('audit stream: delivering again', { afterFailures: this.failures });
      this.failures = 0;
      this.retryAt = 0;
      await knex('audit_stream_outbox')
        .whereIn(
          'id',
          rows.map((r) => r.oid),
        )
        .delete();
      this.delivered?.inc(rows.length);
    }
  }

  /** Keeps the outbox within its bound, dropping the oldest rows. */
  private async trim(maxBacklog: number): Promise<void> {
    const knex = this.deps.db.knex;
    const r = (await knex('audit_stream_outbox').count({ n: '*' }).first()) as { n: string | number } | undefined;
    const excess = Number(r?.n ?? 0) - maxBacklog;
    if (excess <= 0) return;
    await knex('audit_stream_outbox').whereIn('id', knex('audit_stream_outbox').select('id').orderBy('id').limit(excess)).delete();
    this.dropped?.inc(excess);
    this.deps.logger.error('audit stream: the backlog passed maxBacklog; the oldest events were dropped from the stream', { dropped: excess, maxBacklog });
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.sink?.close();
  }
}

function toStreamed(r: OutboxRow): StreamedAuditEvent {
  return {
    schema: 'claimgate.audit/1',
    id: String(r.id),
    time: new Date(r.at).toISOString(),
    type: r.type,
    actor: r.actor,
    source: r.source,
    user: { id: r.user_id, usercode: r.usercode },
    detail: typeof r.detail === 'string' ? (JSON.parse(r.detail) as unknown) : r.detail,
  };
}
