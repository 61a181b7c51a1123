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
