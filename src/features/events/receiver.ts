import type { Knex } from 'knex';
import type { Logger } from '../../observability/logger.js';
import { decryptCipherData } from './decrypt.js';
import { parseEventData, type PushEvent } from './data.js';
import { parseEnvelope } from './envelope.js';
import { EventDataError, badRequest, internal, EventPushError } from './errors.js';
import { changeMembership, deleteGroup, moveUnit, upsertGroup } from './groups.js';
import type { ApplyContext, EventsConfig, HandlerOutcome } from './subjects.js';
import { noteFullPushEvent } from './full-sync.js';
import { setPrimaryUnit, setUserLifecycle, upsertUser } from './users.js';
import type { EventVerifier } from './verify.js';

/** One entry of an answer list. */
export interface EventAnswer {
  eventId: string;
  eventCode: 'SUCCESS' | 'SKIPPED' | 'FAILED';
  eventMessage: string;
}

/** The answer to a push (docs/provisioning.md#change-events). */
export interface PushAnswer {
  successEvents: EventAnswer[];
  skippedEvents: EventAnswer[];
  failedEvents: EventAnswer[];
  retriedEvents: EventAnswer[];
}

type Outcome = { outcome: 'success' | 'skipped' | 'failed'; message: string };

type Handler = (c: ApplyContext, b: Record<string, unknown>) => Promise<HandlerOutcome>;

const ok: Handler = async () => ({ outcome: 'success', message: 'SUCCESS' });

/**
 * Every event type of the format, without the `urn:alibaba:idaas:app:event:` prefix. A Map: the type comes from
 * the sender, and a plain object would hand `constructor` or `toString` a function that is no handler.
 */
const HANDLERS = new Map<string, Handler>(Object.entries({
  'ud:user:create': upsertUser,
  'ud:user:update_info': upsertUser,
  'ud:user:push': upsertUser,
  'ud:user:delete': (c, b) => setUserLifecycle(c, b, 'SUSPENDED'),
  'ud:user:disable': (c, b) => setUserLifecycle(c, b, 'SUSPENDED'),
  'ud:user:lock': (c, b) => setUserLifecycle(c, b, 'SUSPENDED'),
  'ud:user:enable': (c, b) => setUserLifecycle(c, b, 'ACTIVE'),
  'ud:user:unlock': (c, b) => setUserLifecycle(c, b, 'ACTIVE'),
  // Acknowledged, never stored: claimgate keeps no passwords.
  'ud:user:update_password': ok,
  'ud:user:update_primary_ou': setPrimaryUnit,
  'ud:organizational_unit:create': (c, b) => upsertGroup(c, 'ou', b),
  'ud:organizational_unit:update': (c, b) => upsertGroup(c, 'ou', b),
  'ud:organizational_unit:push': (c, b) => upsertGroup(c, 'ou', b),
  'ud:organizational_unit:delete': (c, b) => deleteGroup(c, 'ou', b),
  'ud:organizational_unit:update_parent_organizational_unit': moveUnit,
  'ud:organizational_unit:add_user': (c, b) => changeMembership(c, 'ou', b, true),
  'ud:organizational_unit:remove_user': (c, b) => changeMembership(c, 'ou', b, false),
  'ud:group:create': (c, b) => upsertGroup(c, 'group', b),
  'ud:group:update': (c, b) => upsertGroup(c, 'group', b),
  'ud:group:push': (c, b) => upsertGroup(c, 'group', b),
  'ud:group:delete': (c, b) => deleteGroup(c, 'group', b),
  'ud:group:add_user': (c, b) => changeMembership(c, 'group', b, true),
  'ud:group:remove_user': (c, b) => changeMembership(c, 'group', b, false),
} satisfies Record<string, Handler>));

const CODES = { success: 'SUCCESS', skipped: 'SKIPPED', failed: 'FAILED' } as const;

/**
 * The event receiver (docs/provisioning.md#change-events): verifies the push, decrypts it, and applies each event in its own
 * transaction together with its receipt (by eventId), so a `200` is only sent once every event is durably
 * recorded, a retried push is acknowledged again without changing anything, and a crash mid-push loses nothing
 * (the sender retries; what committed is recognised). Event data never reaches a log line.
 */
export class EventReceiver {
  constructor(
    private readonly deps: {
      knex: Knex;
      config: EventsConfig;
      verifier: EventVerifier;
      logger: Logger;
      onUserChanged: (userId: string) => void;
      now: () => number;
      /** How long a push may spend applying events before the rest go to the queue (ms). */
      inlineBudgetMs?: number;
    },
  ) {}

  async receive(raw: Buffer | string | undefined): Promise<PushAnswer> {
    const t0 = Date.now();
    const token = parseEnvelope(raw);
    const claims = await this.deps.verifier.verify(token);
    let data: unknown;
    if (claims.dataEncrypted === true) data = await decryptCipherData(claims.cipherData, this.deps.config.decryptionKey);
    else if (typeof claims.plainData === 'string') {
      try {
        data = JSON.parse(claims.plainData);
      } catch {
        throw badRequest('plainData is not valid JSON');
      }
    } else if (claims.plainData !== undefined) data = claims.plainData;
    else throw badRequest('the push carries neither plainData nor cipherData');
    const { events } = parseEventData(data);
    this.deps.logger.debug('event push read', { ms: Date.now() - t0, events: events.length });
    const answer: PushAnswer = { successEvents: [], skippedEvents: [], failedEvents: [], retriedEvents: [] };
    const jti = typeof claims.jti === 'string' ? claims.jti.slice(0, 200) : null;
    const started = Date.now();
    // Events still waiting in the queue go first: while it holds any, a push joins it behind them (in order).
    const budget = (await this.queueIsEmpty()) ? (this.deps.inlineBudgetMs ?? 1500) : 0;
    let i = 0;
    // The sender gives up after 10 s: what is not applied within the budget is queued durably, then acknowledged.
    for (; i < events.length && Date.now() - started < budget; i++) {
      const event = events[i]!;
      const r = await this.applyOne(event, jti);
      const entry: EventAnswer = { eventId: event.eventId, eventCode: CODES[r.outcome], eventMessage: r.message };
      (r.outcome === 'success' ? answer.successEvents : r.outcome === 'skipped' ? answer.skippedEvents : answer.failedEvents).push(entry);
    }
    const rest = events.slice(i);
    if (rest.length) {
      await this.enqueue(rest, jti);
      for (const e of rest) answer.successEvents.push({ eventId: e.eventId, eventCode: 'SUCCESS', eventMessage: 'QUEUED' });
    }
    this.deps.logger.info('event push applied', {
      jti,
      ms: Date.now() - started,
      success: answer.successEvents.length - rest.length,
      queued: rest.length,
      skipped: answer.skippedEvents.length,
      failed: answer.failedEvents.length,
    });
    return answer;
  }

  private async queueIsEmpty(): Promise<boolean> {
    try {
      return (await this.deps.knex('event_queue').first('id')) === undefined;
    } catch (e) {
      throw internal('the event queue could not be read; retry later', e);
    }
  }

  /** Writes events to the queue in one transaction: all of them are durable before the answer, or none. */
  private async enqueue(events: PushEvent[], jti: string | null): Promise<void> {
    try {
      // Due now by the clock the worker reads (not the database's), so the worker never waits on a clock difference.
      const now = new Date(this.deps.now());
      await this.deps.knex.transaction(async (trx) => {
        for (let i = 0; i < events.length; i += 200) {
          await trx('event_queue').insert(events.slice(i, i + 200).map((e) => ({ push_jti: jti, event_id: e.eventId, event: JSON.stringify(e), next_attempt_at: now, created_at: now })));
        }
      });
    } catch (e) {
      throw internal('the events could not be queued; retry later', e);
    }
  }

  async applyOne(event: PushEvent, jti: string | null): Promise<Outcome> {
    // The console's connectivity test changes nothing, not even the receipts.
    if (event.type === 'common:test') return { outcome: 'success', message: 'SUCCESS' };
    const changedUsers = new Set<string>();
    const at = new Date(this.deps.now());
    let result: Outcome;
    try {
      result = await this.deps.knex.transaction(async (trx) => {
        const inserted = (await trx('event_receipts')
          .insert({ event_id: event.eventId, push_jti: jti, event_type: event.eventType.slice(0, 200), event_time: event.eventTime, outcome: 'success', received_at: at })
          .onConflict('event_id')
          .ignore()
          .returning('event_id')) as unknown[];
        if (!inserted.length) {
          const prev = (await trx('event_receipts').where({ event_id: event.eventId }).first('outcome', 'message')) as Outcome;
          return { outcome: prev.outcome, message: prev.message ?? 'SUCCESS' };
        }
        const handler = HANDLERS.get(event.type);
        let outcome: Outcome;
        if (!handler) outcome = { outcome: 'failed', message: 'unknown event type' };
        else if ('invalid' in event.bizData) outcome = { outcome: 'failed', message: String(event.bizData.invalid) };
        else {
          const bizData = event.bizData;
          try {
            // A savepoint: a data error undoes the event's partial writes and keeps its (failed) receipt.
            outcome = await trx.transaction((sp) => handler({ trx: sp, event, at, config: this.deps.config, changedUsers }, bizData));
          } catch (e) {
            if (!(e instanceof EventDataError)) throw e;
            changedUsers.clear();
            outcome = { outcome: 'failed', message: e.message };
          }
        }
        // Even a skipped or failed record was mentioned: the sender still has that user or unit.
        if (this.deps.config.fullSync && !('invalid' in event.bizData)) await noteFullPushEvent(trx, event.type, event.bizData, at);
        await trx('event_receipts').where({ event_id: event.eventId }).update({ outcome: outcome.outcome, message: outcome.message });
        return outcome;
      });
    } catch (e) {
      if (e instanceof EventPushError) throw e;
      this.deps.logger.error('applying an event failed', { eventId: event.eventId, eventType: event.eventType, cause: (e as Error).message });
      throw internal('the events could not be recorded; retry later', e);
    }
    for (const id of changedUsers) this.deps.onUserChanged(id);
    return result;
  }
}
