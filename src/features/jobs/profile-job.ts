import type { Knex } from 'knex';
import { recordAudit } from '../../store/audit-log.js';
import type { Config } from '../../core/config/schema.js';
import type { ProfileField } from '../../core/mapping/index.js';
import { columnValue, normalizeProfileValue } from '../../store/users/profile.js';
import { PROFILE_COLUMNS, parseJson, profileValue, type UserRow } from '../../store/users/row.js';
import type { UserStatusEntry } from '../../core/users/types.js';
import { Directory, type DirectoryAnswer } from './directory.js';
import type { Job, JobContext } from './job.js';

export const PROFILE_SYNC = 'PROFILE_SYNC';

/** Users looked up per run at most; the rest wait for the next run (oldest attempts first). */
const BATCH = 1000;
/** Longest back-off between two attempts for one user. */
const MAX_BACKOFF_MS = 24 * 3600_000;

const isEmpty = (v: string | string[] | null) => v === null || v === '' || (Array.isArray(v) && v.length === 0);

/**
 * The profile sync (docs/jobs.md): every `intervalSeconds`, users (not DEPROVISIONED) with an empty field that the
 * directory mapping can fill are looked up, `concurrency` at a time, each call bounded by `timeoutMs`. Only empty
 * fields are written: the directory completes a profile, it never overrides what a login, SCIM or an admin set.
 * The outcome goes to the user's `status` as `PROFILE_SYNC`: `OK` (complete), `PENDING` (the directory lacks some
 * fields yet) or `FAILED` (the directory is down, slow, or does not know the user), with a detail; both retry
 * with exponential back-off (one interval, doubling, at most a day), kept in profile_sync_state. One user's
 * failure never stops the run.
 */
export class ProfileJob implements Job {
  readonly name = 'profile';
  readonly supportsDryRun = false;
  readonly enabled: boolean;
  private readonly directory: Directory | null;
  private readonly intervalMs: number;

  constructor(
    private readonly deps: {
      knex: Knex;
      config: Config['jobs']['profile'];
      onUserChanged: (userId: string) => void;
      /** Outbound fetch (the egress proxy). */
      fetch?: typeof fetch;
    },
  ) {
    this.directory = deps.config.directory ? new Directory(deps.config.directory, deps.fetch) : null;
    this.enabled = this.directory !== null;
    this.intervalMs = deps.config.intervalSeconds * 1000;
  }

  schedule(): Record<string, unknown> {
    const d = this.deps.config.directory;
    return {
      intervalSeconds: this.deps.config.intervalSeconds,
      directory: d ? { timeoutMs: d.timeoutMs, concurrency: d.concurrency, fields: this.directory!.fields } : null,
    };
  }

  /** Slots are aligned on multiples of the interval, so every instance computes the same ones. */
  nextRunAt(after: number): number | null {
    return this.directory ? (Math.floor(after / this.intervalMs) + 1) * this.intervalMs : null;
  }

  async run(ctx: JobContext): Promise<void> {
    const directory = this.directory;
    if (!directory) {
      ctx.count('skipped');
      return;
    }
    const rows = await this.candidates(directory.fields, new Date(ctx.now()));
    ctx.count('selected', rows.length);
    let next = 0;
    const worker = async () => {
      while (next < rows.length && !ctx.signal.aborted) {
        const row = rows[next++]!;
        try {
          const answer = await directory.lookup(row, ctx.signal);
          if (ctx.signal.aborted) return;
          ctx.count(await this.apply(row.id, directory.fields, answer, ctx));
        } catch (e) {
          ctx.error({ userId: row.id, message: e instanceof Error ? e.message : String(e) });
        }
      }
    };
    const concurrency = Math.max(1, this.deps.config.directory!.concurrency);
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  }

  private candidates(fields: ProfileField[], now: Date): Promise<UserRow[]> {
    const k = this.deps.knex;
    return k('users as u')
      .select('u.*')
      .leftJoin('profile_sync_state as p', 'p.user_id', 'u.id')
      .whereNot('u.lifecycle', 'DEPROVISIONED')
      .where((q) => {
        for (const f of fields) {
          const col = `u.${PROFILE_COLUMNS[f]}`;
          if (f === 'tags') q.orWhereRaw(`u.tags = '[]'::jsonb`);
          else q.orWhereNull(col).orWhere(col, '');
        }
      })
      .where((q) => q.whereNull('p.next_attempt_at').orWhere('p.next_attempt_at', '<=', now))
      .orderByRaw('p.next_attempt_at ASC NULLS FIRST')
      .orderBy('u.id')
      .limit(BATCH) as Promise<UserRow[]>;
  }

  /** Writes what the directory gave (empty fields only), the status entry and the back-off, in one transaction. */
  private async apply(userId: string, fields: ProfileField[], answer: DirectoryAnswer, ctx: JobContext): Promise<'ok' | 'pending' | 'failed'> {
    const at = new Date(ctx.now());
    let changed = false;
    const outcome = await this.deps.knex.transaction(async (trx) => {
      const row = (await trx('users').where({ id: userId }).forUpdate().first()) as UserRow | undefined;
      if (!row) return 'ok' as const;
      const columns: Record<string, unknown> = {};
      const filled: ProfileField[] = [];
      const lacking: ProfileField[] = [];
      for (const f of fields) {
        if (!isEmpty(profileValue(row, f))) continue;
        const value = answer.ok ? normalizeProfileValue(f, answer.profile[f]) : undefined;
        if (value === undefined || isEmpty(value)) {
          lacking.push(f);
          continue;
        }
        columns[PROFILE_COLUMNS[f]] = columnValue(f, value);
        filled.push(f);
      }
      const result: 'ok' | 'pending' | 'failed' = !answer.ok ? 'failed' : lacking.length ? 'pending' : 'ok';
      const previous = await trx('profile_sync_state').where({ user_id: userId }).first('attempts');
      const attempts = result === 'ok' ? 0 : Number(previous?.attempts ?? 0) + 1;
      const retryAt = new Date(at.getTime() + Math.min(this.intervalMs * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS));
      const detail = !answer.ok
        ? `${answer.detail}; next attempt after ${retryAt.toISOString()}`
        : result === 'pending'
          ? `the directory has no value for ${lacking.join(', ')}; next attempt after ${retryAt.toISOString()}`
          : filled.length
            ? `filled ${filled.join(', ')}`
            : 'complete';
      const status = parseJson<UserStatusEntry[]>(row.status, []).filter((s) => s.name !== PROFILE_SYNC);
      status.push({ name: PROFILE_SYNC, status: result.toUpperCase(), detail, at: at.toISOString() });
      const update: Record<string, unknown> = { ...columns, status: JSON.stringify(status) };
      if (filled.length) {
        changed = true;
        Object.assign(update, { version: trx.raw('version + 1'), updated_at: at });
        await recordAudit(trx, {
          type: 'profile_change',
          userId,
          usercode: row.usercode,
          actor: 'job:profile',
          source: 'directory',
          at,
          detail: { fields: filled, runId: ctx.run.id },
        });
      }
      await trx('users').where({ id: userId }).update(update);
      if (result === 'ok') await trx('profile_sync_state').where({ user_id: userId }).delete();
      else {
        await trx('profile_sync_state')
          .insert({ user_id: userId, attempts, next_attempt_at: retryAt, last_outcome: result })
          .onConflict('user_id')
          .merge();
      }
      return result;
    });
    if (changed) this.deps.onUserChanged(userId);
    return outcome;
  }
}
