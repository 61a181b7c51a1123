import type { JobRun, RunError } from './runs-store.js';

/** What a running job may use: its run record, the clock, the abort signal and the counters of its record. */
export interface JobContext {
  run: JobRun;
  dryRun: boolean;
  /** The instant the run stands for: its scheduled slot, or the start of a manual run (ms). */
  at: number;
  now(): number;
  /** Aborted when the gateway stops: finish the current step and return (the run is recorded `interrupted`). */
  signal: AbortSignal;
  /** Adds to a counter of the run record (e.g. `deprovisioned`). */
  count(name: string, by?: number): void;
  /** Records a per-item failure; the run goes on with the next item. */
  error(e: RunError): void;
}

/**
 * Walks the ids `page(after)` answers, in pages of `size` ordered by id, and hands each user to `process`: its
 * outcome is counted (unless `none`), a failure is recorded and the walk goes on. Stops when the run is aborted.
 */
export async function forEachUser(
  ctx: JobContext,
  size: number,
  page: (after: string) => Promise<string[]>,
  process: (id: string) => Promise<string>,
): Promise<void> {
  let after = '';
  for (;;) {
    const ids = await page(after);
    for (const id of ids) {
      if (ctx.signal.aborted) return;
      try {
        const outcome = await process(id);
        if (outcome !== 'none') ctx.count(outcome);
      } catch (e) {
        ctx.error({ userId: id, message: e instanceof Error ? e.message : String(e) });
      }
    }
    if (ids.length < size) return;
    after = ids[ids.length - 1]!;
  }
}

/**
 * One lifecycle job. Every step must be idempotent and commit on its own (one user per transaction, re-checking
 * its condition under the row lock), so a run that dies half-way loses nothing and a later run finishes the work
 * without applying anything twice.
 */
export interface Job {
  readonly name: string;
  /** A disabled job is listed but never scheduled; it can still be run by hand. */
  readonly enabled: boolean;
  readonly supportsDryRun: boolean;
  /** Whether a run that does not say otherwise (a scheduled one) is a dry run. */
  readonly defaultDryRun?: boolean;
  /** The configured schedule as the admin API shows it. */
  schedule(): Record<string, unknown>;
  /** The next scheduled instant strictly after `after` (ms), or null for no schedule. */
  nextRunAt(after: number): number | null;
  /** The latest scheduled instant at or before `now`: a slot missed while no instance ran is caught up at start. */
  lastDueAt?(now: number): number | null;
  run(ctx: JobContext): Promise<void>;
}
