import type { Knex } from 'knex';
import type { InactivityConfig } from '../../core/config/idp-schema.js';
import { activityDay } from '../../store/users/activity.js';
import { setLifecycleTx } from '../../store/users/lifecycle-tx.js';
import type { UserRow } from '../../store/users/row.js';
import { forEachUser, type JobContext } from './job.js';

const PAGE = 200;
const DAY_MS = 86_400_000;

/** One user the inactivity step would suspend. */
export interface InactiveUser {
  id: string;
  usercode: string;
  userType: string;
  /** The day compared: the last activity, or the creation when there was none. */
  lastActivityAt: string | null;
  createdAt: string;
}

/**
 * Leavers without SCIM or events stop signing in and would stay ACTIVE forever. This step of the deletion run
 * suspends an ACTIVE user of the configured types whose last activity (or creation, before any) is older than
 * `suspendAfterDays`; the deletion job then deprovisions it after the grace period like any suspended user.
 */
export class InactivityStep {
  constructor(
    private readonly deps: { knex: Knex; config: InactivityConfig; onUserChanged: (userId: string) => void },
  ) {}

  get settings(): InactivityConfig {
    return this.deps.config;
  }

  /** Activity before this instant is too old (UTC midnight, `suspendAfterDays` before the day of `at`). */
  cutoff(at: number): Date {
    return new Date(activityDay(new Date(at)).getTime() - this.deps.config.suspendAfterDays * DAY_MS);
  }

  private query(cutoff: Date) {
    return this.deps.knex('users')
      .where('lifecycle', 'ACTIVE')
      .whereIn('user_type', this.deps.config.userTypes)
      .where((q) =>
        q
          .where('last_activity_at', '<', cutoff)
          .orWhere((e) => e.whereNull('last_activity_at').where('created_at', '<', cutoff)),
      );
  }

  /** Who a run at `at` would suspend, oldest activity first. */
  async preview(at: number, limit = 1000): Promise<InactiveUser[]> {
    const rows = (await this.query(this.cutoff(at))
      .orderByRaw('coalesce(last_activity_at, created_at), id')
      .limit(limit)
      .select('id', 'usercode', 'user_type', 'last_activity_at', 'created_at')) as UserRow[];
    return rows.map((r) => ({
      id: r.id,
      usercode: r.usercode,
      userType: r.user_type,
      lastActivityAt: r.last_activity_at ? new Date(r.last_activity_at).toISOString() : null,
      createdAt: new Date(r.created_at).toISOString(),
    }));
  }

  async run(ctx: JobContext): Promise<void> {
    const cutoff = this.cutoff(ctx.at);
    await forEachUser(
      ctx,
      PAGE,
      async (after) => (await this.query(cutoff).where('id', '>', after).orderBy('id').limit(PAGE).pluck('id')) as string[],
      (id) => this.process(id, cutoff, ctx),
    );
  }

  /** Re-checked under the row lock: a sign-in that committed meanwhile wins. */
  private async process(id: string, cutoff: Date, ctx: JobContext): Promise<'suspendedInactive' | 'wouldSuspendInactive' | 'none'> {
    const result = await this.deps.knex.transaction(async (trx) => {
      const row = (await trx('users').where({ id }).forUpdate().first()) as UserRow | undefined;
      if (!row || row.lifecycle !== 'ACTIVE' || !this.deps.config.userTypes.includes(row.user_type)) return 'none' as const;
      const last = row.last_activity_at ?? row.created_at;
      if (new Date(last).getTime() >= cutoff.getTime()) return 'none' as const;
      if (ctx.dryRun) return 'wouldSuspendInactive' as const;
      await setLifecycleTx(trx, row, 'SUSPENDED', {
        at: new Date(ctx.now()),
        actor: 'job:deletion',
        source: null,
        detail: {
          reason: 'inactivity',
          lastActivityAt: new Date(last).toISOString(),
          suspendAfterDays: this.deps.config.suspendAfterDays,
          runId: ctx.run.id,
        },
      });
      return 'suspendedInactive' as const;
    });
    if (result === 'suspendedInactive') this.deps.onUserChanged(id);
    return result;
  }
}
