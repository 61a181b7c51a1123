import type { Knex } from 'knex';
import { ulid } from '../../core/ids.js';
import { parseJson, toIso } from '../../store/users/row.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';
export type RunTrigger = 'schedule' | 'manual' | 'catch-up';

/** One error of a run (per user, or the run's own). Never holds a secret. */
export interface RunError {
  userId?: string;
  message: string;
}

/** A recorded run as the admin API shows it. */
export interface JobRun {
  id: string;
  job: string;
  /** The scheduled instant this run is for (RFC 3339); null for manual runs. */
  slot: string | null;
  trigger: RunTrigger;
  status: RunStatus;
  dryRun: boolean;
  actor: string | null;
  instance: string | null;
  startedAt: string;
  finishedAt: string | null;
  counts: Record<string, number>;
  errors: RunError[];
}

interface RunRow {
  id: string;
  job: string;
  slot: string | null;
  trigger: RunTrigger;
  status: RunStatus;
  dry_run: boolean;
  actor: string | null;
  instance: string | null;
  started_at: Date | string;
  finished_at: Date | string | null;
  counts: Record<string, number> | string;
  errors: RunError[] | string;
}

/** Errors kept per run: enough to diagnose, bounded so a run over 100k failing users stays one small row. */
export const MAX_RUN_ERRORS = 50;

const toRun = (r: RunRow): JobRun => ({
  id: r.id,
  job: r.job,
  slot: r.slot,
  trigger: r.trigger,
  status: r.status,
  dryRun: !!r.dry_run,
  actor: r.actor,
  instance: r.instance,
  startedAt: toIso(r.started_at),
  finishedAt: r.finished_at === null ? null : toIso(r.finished_at),
  counts: parseJson(r.counts, {}),
  errors: parseJson(r.errors, []),
});

/** The job_runs table: every run with start, end, counts and errors. */
export class RunsStore {
  constructor(
    private readonly knex: Knex,
    private readonly instance: string,
  ) {}

  /**
   * Starts a run. Call only while holding the job's lock: any run of this job still marked `running` then
   * belongs to a process that died mid-run, so it is marked `interrupted` (its work is resumed by this run,
   * every step being idempotent). For a scheduled slot that already ran (on any instance), returns null.
   */
  async claim(input: { job: string; slot: string | null; trigger: RunTrigger; dryRun: boolean; actor: string | null; at: Date }): Promise<JobRun | null> {
    await this.knex('job_runs')
      .where({ job: input.job, status: 'running' })
      .update({ status: 'interrupted', finished_at: input.at });
    if (input.slot !== null) {
      const done = await this.knex('job_runs').where({ job: input.job, slot: input.slot }).whereNot('status', 'interrupted').first('id');
      if (done) return null;
    }
    let rows: RunRow[];
    try {
      rows = (await this.knex('job_runs')
        .insert({
          id: ulid(),
          job: input.job,
          slot: input.slot,
          trigger: input.trigger,
          status: 'running',
          dry_run: input.dryRun,
          actor: input.actor,
          instance: this.instance,
          started_at: input.at,
        })
        .returning('*')) as RunRow[];
    } catch (e) {
      // The slot's unique index: another instance claimed it between our check and insert (lock lost). Its run counts.
      if ((e as { code?: string }).code === '23505') return null;
      throw e;
    }
    return rows[0] ? toRun(rows[0]) : null;
  }

  async finish(id: string, status: Exclude<RunStatus, 'running'>, counts: Record<string, number>, errors: RunError[], at: Date): Promise<JobRun> {
    const rows = (await this.knex('job_runs')
      .where({ id })
      .update({ status, counts: JSON.stringify(counts), errors: JSON.stringify(errors.slice(0, MAX_RUN_ERRORS)), finished_at: at })
      .returning('*')) as RunRow[];
    return toRun(rows[0]!);
  }

  async get(id: string): Promise<JobRun | null> {
    const row = (await this.knex('job_runs').where({ id }).first()) as RunRow | undefined;
    return row ? toRun(row) : null;
  }

  /** Newest first. */
  async recent(job: string, limit: number): Promise<JobRun[]> {
    const rows = (await this.knex('job_runs').where({ job }).orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit)) as RunRow[];
    return rows.map(toRun);
  }

  /** True when the job has run before (any slot or trigger). */
  async hasHistory(job: string): Promise<boolean> {
    return !!(await this.knex('job_runs').where({ job }).first('id'));
  }

  /** True when the slot finished on some instance (a `running` row may be a dead process's: the lock tells). */
  async slotRan(job: string, slot: string): Promise<boolean> {
    return !!(await this.knex('job_runs').where({ job, slot }).whereIn('status', ['succeeded', 'failed']).first('id'));
  }
}
