import type { Knex } from 'knex';
import type { EventsConfig } from './subjects.js';
import { closing, quietEnough, type FullSyncRun } from './full-sync.js';
import { setLifecycleTx } from '../../store/users/lifecycle-tx.js';
import type { UserRow } from '../../store/users/row.js';
import { recordAudit } from '../../store/audit-log.js';
import { recomputeRoles } from './roles.js';
import type { PushEvent } from './data.js';

const HOUR_MS = 3_600_000;

/** What the step uses of the deletion run it is part of (the lifecycle jobs' run context). */
export interface ReconcileRun {
  run: { id: string };
  dryRun: boolean;
  now(): number;
  signal: AbortSignal;
  count(name: string, by?: number): void;
  error(e: { userId?: string; message: string }): void;
}
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
  private async newestRun(ctx: ReconcileRun): Promise<FullSyncRun | null> {
    const k = this.deps.knex;
    const run = (await k('event_full_sync').orderBy('id', 'desc').first()) as FullSyncRun | undefined;
    if (!run) return null;
    if (run.status === 'open' && (await quietEnough(k, run, ctx.now()))) {
      const closed = closing(run);
      if (!ctx.dryRun) await k('event_full_sync').where({ id: run.id, status: 'open' }).update(closed);
      return { ...run, ...closed };
    }
    return run;
  }

  async run(ctx: ReconcileRun): Promise<void> {
    const fullSync = this.deps.config.fullSync;
    if (!fullSync) return;
    const run = await this.newestRun(ctx);
    if (!run || run.status !== 'completed' || !run.completed_at) return;
    if (ctx.now() < new Date(run.completed_at).getTime() + fullSync.graceHours * HOUR_MS) return;
    // Not asked to suspend: a dry run still shows what would happen, a real run changes nothing.
    if (!fullSync.suspendMissing && !ctx.dryRun) return;
    const k = this.deps.knex;
    // A push of users only says nothing about units, and the other way round.
    if (await k('event_full_sync_seen').where({ run_id: run.id, kind: 'ou' }).first('subject_id')) await this.removeUnits(run, ctx);
    if (ctx.signal.aborted) return;
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

  private missingUnits(q: Knex | Knex.Transaction, run: FullSyncRun) {
    const started = new Date(run.started_at);
    return q('event_groups as g')
      .where('g.kind', 'ou')
      .where('g.created_at', '<', started)
      .whereNotExists(q('event_full_sync_seen as s').where({ 's.run_id': run.id, 's.kind': 'ou' }).whereRaw('s.subject_id = g.id'))
      .whereNotExists(q('event_subjects as e').where('e.kind', 'ou').whereRaw('e.subject_id = g.id').where('e.applied_at', '>=', started))
      .orderBy('g.id');
  }

  /** Units the run did not mention go with their memberships, one transaction each; their members lose what they granted. */
  private async removeUnits(run: FullSyncRun, ctx: ReconcileRun): Promise<void> {
    const ids = (await this.missingUnits(this.deps.knex, run).pluck('g.id')) as string[];
    for (const id of ids) {
      if (ctx.signal.aborted) return;
      if (ctx.dryRun) {
        ctx.count('wouldRemoveFullSyncMissingUnits');
        continue;
      }
      const changedUsers = new Set<string>();
      try {
        const removed = await this.deps.knex.transaction(async (trx) => {
          if (!(await this.missingUnits(trx, run).where('g.id', id).forUpdate().first('g.id'))) return false;
          const at = new Date(ctx.now());
          const members = (await trx('event_group_members').where({ kind: 'ou', group_id: id }).pluck('idaas_user_id')) as string[];
          await trx('event_group_members').where({ kind: 'ou', group_id: id }).delete();
          await trx('event_groups').where({ kind: 'ou', id }).delete();
          // Roles are recomputed as an event would; the pseudo-event only names why.
          const event: PushEvent = { eventId: `full-sync-${run.id}`, type: 'full_sync_missing', eventType: 'full_sync_missing', eventTime: 0, bizId: null, bizData: {} };
          for (const uid of members) await recomputeRoles({ trx, event, at, config: this.deps.config, changedUsers }, uid);
          await recordAudit(trx, {
            type: 'event_unit_removed',
            actor: 'job:deletion',
            source: 'events',
            at,
            detail: { reason: 'full_sync_missing', unitId: id, members: members.length, fullSyncId: String(run.id), runId: ctx.run.id },
          });
          return true;
        });
        if (removed) ctx.count('removedFullSyncMissingUnits');
        for (const u of changedUsers) this.deps.onUserChanged(u);
      } catch (e) {
        ctx.error({ message: `unit ${id}: ${e instanceof Error ? e.message : String(e)}` });
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
  private async process(id: string, run: FullSyncRun, ctx: ReconcileRun): Promise<'suspendedFullSyncMissing' | 'wouldSuspendFullSyncMissing' | 'none'> {
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
