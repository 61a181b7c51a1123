import type { Knex } from 'knex';
import { str } from './subjects.js';

/**
 * The format marks neither the start nor the end of a one-click push, nor how many records it holds: a full
 * push is over once no full-push event was applied for this long and the event queue is empty.
 */
export const FULL_SYNC_QUIET_MS = 10 * 60_000;

/** The event types of a full push, and which subject kind each mentions. */
const FULL_PUSH_TYPES = new Map<string, { kind: 'user' | 'ou'; idField: string }>([
  ['ud:user:push', { kind: 'user', idField: 'userId' }],
  ['ud:organizational_unit:push', { kind: 'ou', idField: 'organizationalUnitId' }],
]);

export interface FullSyncRun {
  id: string;
  status: 'open' | 'completed' | 'interrupted';
  started_at: Date | string;
  last_event_at: Date | string;
  completed_at: Date | string | null;
  interrupted_reason: string | null;
}

const ms = (d: Date | string) => new Date(d).getTime();

async function queueEmpty(q: Knex | Knex.Transaction): Promise<boolean> {
  return !(await q('event_queue').first('id'));
}

/** Whether the open run has been quiet long enough, with nothing left in the queue, to count as complete. */
export async function quietEnough(q: Knex | Knex.Transaction, run: FullSyncRun, now: number): Promise<boolean> {
  return now - ms(run.last_event_at) >= FULL_SYNC_QUIET_MS && (await queueEmpty(q));
}

/** The instant a quiet run became complete. */
export const completionOf = (run: FullSyncRun): Date => new Date(ms(run.last_event_at) + FULL_SYNC_QUIET_MS);

/**
 * Records that a full push mentioned this user or unit, in the event's own transaction. The open run is joined
 * (row-locked, so concurrent events serialise on it); a run quiet for long enough is closed first and a new one
 * started.
 */
export async function noteFullPushEvent(trx: Knex.Transaction, type: string, bizData: Record<string, unknown>, at: Date): Promise<void> {
  const t = FULL_PUSH_TYPES.get(type);
  if (!t) return;
  const subjectId = str(bizData[t.idField]);
  if (!subjectId) return;
  let run = (await trx('event_full_sync').where({ status: 'open' }).forUpdate().first()) as FullSyncRun | undefined;
  if (run && (await quietEnough(trx, run, at.getTime()))) {
    await trx('event_full_sync').where({ id: run.id }).update(closing(run));
    run = undefined;
  }
  if (!run) {
    // A push refused just before this one may have been the first page of this very full push.
    const refused = (await trx('event_full_sync')
      .where({ status: 'interrupted' })
      .where('last_event_at', '>', new Date(at.getTime() - FULL_SYNC_QUIET_MS))
      .first('id')) as { id: string } | undefined;
    await trx.raw(`INSERT INTO event_full_sync (status, started_at, last_event_at, interrupted_reason) VALUES ('open', ?, ?, ?) ON CONFLICT DO NOTHING`, [
      at,
      at,
      refused ? 'a push was refused just before it started' : null,
    ]);
    run = (await trx('event_full_sync').where({ status: 'open' }).forUpdate().first()) as FullSyncRun;
  }
  if (ms(run.last_event_at) < at.getTime()) await trx('event_full_sync').where({ id: run.id }).update({ last_event_at: at });
  await trx('event_full_sync_seen').insert({ run_id: run.id, kind: t.kind, subject_id: subjectId }).onConflict(['run_id', 'kind', 'subject_id']).ignore();
}

/**
 * A push refused or failed while a full push is open may have carried some of its records: that run is never
 * taken as complete, so it suspends nobody.
 */
export async function interruptOpenRun(knex: Knex, reason: string, at: Date): Promise<void> {
  // The open run goes on collecting its events (so later pages do not start a clean run) but will close interrupted.
  const updated = await knex('event_full_sync').where({ status: 'open' }).update({ interrupted_reason: reason.slice(0, 200) });
  // No run open: the refused push may have been the first page; a marker taints a run starting soon after.
  if (!updated) await knex('event_full_sync').insert({ status: 'interrupted', started_at: at, last_event_at: at, interrupted_reason: reason.slice(0, 200) });
}

/** How an open run closes: completed, or interrupted when a push was refused while it ran. */
export function closing(run: FullSyncRun): { status: 'completed' | 'interrupted'; completed_at: Date | null } {
  return run.interrupted_reason ? { status: 'interrupted', completed_at: null } : { status: 'completed', completed_at: completionOf(run) };
}
