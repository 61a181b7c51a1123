import type { Knex } from 'knex';
import type { Config } from '../../core/config/schema.js';
import type { UserRow } from '../../store/users/row.js';
import { applySourceGrants } from '../../store/users/source-grants.js';
import { setLifecycleTx } from '../../store/users/lifecycle-tx.js';
import { EXPIRATION_ATTRIBUTE } from '../../core/users/types.js';
import { forEachUser, type Job, type JobContext } from './job.js';
import { nextDailyAt, previousDailyAt, startOfDay } from './time-zone.js';
import type { InactivityStep } from './inactivity.js';

/** A step of the deletion run supplied from outside the jobs (the full-push reconciliation of the change events). */
export interface DeletionStep {
  run(ctx: JobContext): Promise<void>;
}

/** Grant sources the deletion job leaves in place: the IdP owns SCIM memberships (they grant nothing unless ACTIVE). */
export const KEPT_SOURCES = ['scim'] as const;

const PAGE = 200;

/**
 * The nightly deletion sync (docs/jobs.md): users suspended before the grace deadline become DEPROVISIONED and lose
 * every right granted by mappings, the sync API, events and admins, in one transaction per user. The deadline is the
 * local midnight starting the day of the run, minus `graceDays`: a user suspended at 10:00 and reactivated at 15:00
 * the same day never meets the job, one still suspended at 02:00 the next night does. A DEPROVISIONED user still
 * holding such rights (a run interrupted before this job existed, an admin setting the state directly) is cleaned
 * up too. Dry run: counts who would be deprovisioned and changes nothing.
 */
export class DeletionJob implements Job {
  readonly name = 'deletion';
  readonly supportsDryRun = true;
  readonly enabled: boolean;
  readonly defaultDryRun: boolean;

  constructor(
    private readonly deps: {
      knex: Knex;
      config: Config['jobs']['deletion'];
      /** After each committed change: invalidate caches here and on every instance. */
      onUserChanged: (userId: string) => void;
      /** `jobs.inactivity`: suspends long-idle users first, in the same run (dry run included). */
      inactivity?: InactivityStep;
      /** `provisioning.events.fullSync`: suspends event users a completed full push did not mention. */
      fullSync?: DeletionStep;
    },
  ) {
    this.enabled = deps.config.enabled;
    this.defaultDryRun = deps.config.dryRun;
  }

  schedule(): Record<string, unknown> {
    const c = this.deps.config;
    const inactivity = this.deps.inactivity ? { inactivity: this.deps.inactivity.settings } : {};
    return { at: c.at, timeZone: c.timeZone, graceDays: c.graceDays, dryRun: c.dryRun, ...inactivity };
  }

  nextRunAt(after: number): number {
    return nextDailyAt(after, this.deps.config.at, this.deps.config.timeZone);
  }

  lastDueAt(now: number): number {
    return previousDailyAt(now, this.deps.config.at, this.deps.config.timeZone);
  }

  /** Users suspended before this instant are deprovisioned by a run standing for `at`. */
  deadline(at: number): number {
    return startOfDay(at, this.deps.config.timeZone, this.deps.config.graceDays);
  }

  async run(ctx: JobContext): Promise<void> {
    await this.deps.inactivity?.run(ctx);
    if (ctx.signal.aborted) return;
    await this.deps.fullSync?.run(ctx);
    if (ctx.signal.aborted) return;
    await this.suspendExpired(ctx);
    const deadline = new Date(this.deadline(ctx.at));
    await forEachUser(ctx, PAGE, async (after) => (await this.candidates(deadline, after)) as string[], (id) => this.process(id, deadline, ctx));
  }

  /**
   * Active users whose expiration date (the sync envelope's `userExpirationDate`) has passed are suspended,
   * audited with reason `expired`; the grace period then runs as for any suspension.
   */
  private async suspendExpired(ctx: JobContext): Promise<void> {
    const k = this.deps.knex;
    const rows = (await k('user_attributes as a')
      .join('users as u', 'u.id', 'a.user_id')
      .where('a.name', EXPIRATION_ATTRIBUTE)
      .where('u.lifecycle', 'ACTIVE')
      .orderBy('u.id')
      .select('u.id', 'a.values')) as { id: string; values: unknown }[];
    const now = ctx.now();
    for (const r of rows) {
      if (ctx.signal.aborted) return;
      const values = (typeof r.values === 'string' ? JSON.parse(r.values) : r.values) as unknown[];
      const at = Date.parse(String(values?.[0] ?? ''));
      if (!Number.isFinite(at) || at > now) continue;
      if (ctx.dryRun) {
        ctx.count('wouldSuspendExpired');
        continue;
      }
      try {
        const changed = await k.transaction(async (trx) => {
          const row = (await trx('users').where({ id: r.id }).forUpdate().first()) as UserRow | undefined;
          if (!row || row.lifecycle !== 'ACTIVE') return false;
          return setLifecycleTx(trx, row, 'SUSPENDED', {
            at: new Date(now),
            actor: 'job:deletion',
            source: null,
            detail: { reason: 'expired', expiredAt: new Date(at).toISOString(), runId: ctx.run.id },
          });
        });
        if (changed) {
          ctx.count('suspendedExpired');
          this.deps.onUserChanged(r.id);
        }
      } catch (e) {
        ctx.error({ userId: r.id, message: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private candidates(deadline: Date, after: string) {
    const k = this.deps.knex;
    return k('users as u')
      .where('u.id', '>', after)
      .where((q) =>
        q
          .where((s) => s.where('u.lifecycle', 'SUSPENDED').where('u.suspended_at', '<', deadline))
          .orWhere((d) =>
            d.where('u.lifecycle', 'DEPROVISIONED').where((e) =>
              e
                .whereExists(k('user_grants as g').whereRaw('g.user_id = u.id').whereNotIn('g.source', KEPT_SOURCES))
                .orWhereExists(k('user_attributes as a').whereRaw('a.user_id = u.id').whereNotIn('a.source', KEPT_SOURCES)),
            ),
          ),
      )
      .orderBy('u.id')
      .limit(PAGE)
      .pluck('u.id');
  }

  /** One user, one transaction; the condition is checked again under the row lock (a reactivation may have won). */
  private async process(id: string, deadline: Date, ctx: JobContext): Promise<'deprovisioned' | 'cleaned' | 'wouldDeprovision' | 'none'> {
    const k = this.deps.knex;
    const result = await k.transaction(async (trx) => {
      const row = (await trx('users').where({ id }).forUpdate().first()) as UserRow | undefined;
      if (!row) return 'none' as const;
      const due =
        row.lifecycle === 'SUSPENDED' && row.suspended_at !== null && new Date(row.suspended_at).getTime() < deadline.getTime();
      if (!due && row.lifecycle !== 'DEPROVISIONED') return 'none' as const;
      if (ctx.dryRun) return due ? ('wouldDeprovision' as const) : ('none' as const);
      const at = new Date(ctx.now());
      const sources = new Set<string>([
        ...((await trx('user_grants').where({ user_id: id }).whereNotIn('source', KEPT_SOURCES).distinct().pluck('source')) as string[]),
        ...((await trx('user_attributes').where({ user_id: id }).whereNotIn('source', KEPT_SOURCES).distinct().pluck('source')) as string[]),
      ]);
      for (const source of [...sources].sort()) {
        await applySourceGrants(trx, { userId: id, usercode: row.usercode, source, actor: 'job:deletion', at }, { roles: [], permissions: [], attributes: {} });
      }
      if (due) {
        await setLifecycleTx(trx, row, 'DEPROVISIONED', {
          at,
          actor: 'job:deletion',
          source: null,
          detail: { graceDeadline: deadline.toISOString(), runId: ctx.run.id, removedSources: [...sources].sort() },
        });
        return 'deprovisioned' as const;
      }
      if (sources.size === 0) return 'none' as const;
      await trx('users').where({ id }).update({ version: trx.raw('version + 1'), updated_at: at });
      return 'cleaned' as const;
    });
    if (result === 'deprovisioned' || result === 'cleaned') this.deps.onUserChanged(id);
    return result;
  }
}
