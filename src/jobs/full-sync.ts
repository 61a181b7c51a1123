import type { Knex } from 'knex';
import type { EventsConfig } from '../provisioning/events/subjects.js';
import { completionOf, quietEnough, type FullSyncRun } from '../provisioning/events/full-sync.js';
import { setLifecycleTx } from '../users/lifecycle-tx.js';
import type { UserRow } from '../users/row.js';
import type { JobContext } from './job.js';

const HOUR_MS = 3_600_000;
/** Users recorded by earlier releases carry the channel name in idp_source. */
const LEGACY_IDP_SOURCE = 'events';

/**
 * A step of the deletion run: after the newest full push completed and `graceHours` passed, ACTIVE users of the
 * identity service it did not mention are suspended (reason `full_sync_missing`). Only the newest run counts:
 * when it was interrupted or is still open, nobody is touched. A user with any event applied since the run
 * started, or created since, is left alone: the push could not have mentioned it.
 */
export class FullSyncStep {
  constructor(private readonly deps: { knex: Knex; config: EventsConfig; onUserChanged: (userId: string) => void }) {}

  /** The newest run, closed as completed first when it has been quiet long enough (not in a dry run). */
  private async newestRun(ctx: JobContext): Promise<FullSyncRun | null> {
    const k = this.deps.knex;
    const run = (await k('event_full_sync').orderBy('id', 'desc').first()) as FullSyncRun | undefined;
    if (!run) return null;
    if (run.status === 'open' && (await quietEnough(k, run, ctx.now()))) {
      const completed_at = completionOf(run);
      if (!ctx.dryRun) await k('event_full_sync').where({ id: run.id, status: 'open' }).update({ status: 'completed', completed_at });
      return { ...run, status: 'completed', completed_at };
    }
    return run;
  }

  async run(ctx: JobContext): Promise<void> {
    const fullSync = this.deps.config.fullSync;
    if (!fullSync) return;
    const run = await this.newestRun(ctx);
    if (!run || run.status !== 'completed' || !run.completed_at) return;
    if (ctx.now() < new Date(run.completed_at).getTime() + fullSync.graceHours * HOUR_MS) return;
    // Not asked to suspend: a dry run still shows what would happen, a real run changes nothing.
    if (!fullSync.suspendMissing && !ctx.dryRun) return;
    const k = this.deps.knex;
    // A push of units only says nothing about users.
    if (!(await k('event_full_sync_seen').where({ run_id: run.id, kind: 'user' }).first('subject_id'))) return;
    const ids = (await this.missing(k, run).pluck('u.id')) as string[];
    for (const id of ids) {
      if (ctx.signal.aborted) return;
      try {
        const outcome = await this.process(id, run, ctx);
        if (outcome !== 'none') ctx.count(outcome);
      } catch (e) {
        ctx.error({ userId: id, message: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private missing(q: Knex | Knex.Transaction, run: FullSyncRun) {
    const started = new Date(run.started_at);
    return q('users as u')
      .where('u.lifecycle', 'ACTIVE')
      .whereIn('u.idp_source', [this.deps.config.idpSource, LEGACY_IDP_SOURCE])
      .whereNotNull('u.idp_reference_id')
      .where('u.created_at', '<', started)
      .whereNotExists(q('event_full_sync_seen as s').where({ 's.run_id': run.id, 's.kind': 'user' }).whereRaw('s.subject_id = u.idp_reference_id'))
      .whereNotExists(q('event_subjects as e').where('e.kind', 'user').whereRaw('e.subject_id = u.idp_reference_id').where('e.applied_at', '>=', started))
      .orderBy('u.id');
  }

  /** Checked again under the row lock: an event that committed meanwhile wins. */
  private async process(id: string, run: FullSyncRun, ctx: JobContext): Promise<'suspendedFullSyncMissing' | 'wouldSuspendFullSyncMissing' | 'none'> {
    const result = await this.deps.knex.transaction(async (trx) => {
      const row = (await trx('users').where({ id }).forUpdate().first()) as UserRow | undefined;
      if (!row || !(await this.missing(trx, run).where('u.id', id).first('u.id'))) return 'none' as const;
      if (ctx.dryRun) return 'wouldSuspendFullSyncMissing' as const;
      await setLifecycleTx(trx, row, 'SUSPENDED', {
        at: new Date(ctx.now()),
        actor: 'job:deletion',
        source: null,
        detail: { reason: 'full_sync_missing', fullSyncId: String(run.id), fullSyncCompletedAt: new Date(run.completed_at!).toISOString(), runId: ctx.run.id },
      });
      return 'suspendedFullSyncMissing' as const;
    });
    if (result === 'suspendedFullSyncMissing') this.deps.onUserChanged(id);
    return result;
  }
}
