import type { Tracing } from '../../observability/tracing.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../../observability/logger.js';
import type { Database } from '../../store/db/index.js';
import type { JobClock } from './clock.js';
import type { Job, JobContext } from './job.js';
import { JobLock } from '../../store/db/job-lock.js';
import { RunsStore, type JobRun, type RunError, type RunTrigger } from './runs-store.js';

export interface RunRequest {
  trigger: RunTrigger;
  /** Scheduled instant (ms): at most one run per job and slot across every instance. */
  slot?: number;
  dryRun?: boolean;
  actor?: string | null;
}

/** What asking for a run led to. */
export type RunStart =
  | { state: 'started'; run: JobRun; done: Promise<JobRun> }
  /** Another run of the job is in progress (here or on another instance). */
  | { state: 'busy' }
  /** The scheduled slot already ran (on some instance). */
  | { state: 'already-ran' };

/** A job as the admin API lists it. */
export interface JobInfo {
  name: string;
  enabled: boolean;
  supportsDryRun: boolean;
  schedule: Record<string, unknown>;
  /** RFC 3339, null when not scheduled. */
  nextRunAt: string | null;
  /** True while this process runs it (another instance's run shows as the latest run with status `running`). */
  runningHere: boolean;
  lastRun: JobRun | null;
  recentRuns: JobRun[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Runs the lifecycle jobs: on their schedule (exactly once per slot across instances: the job lock plus the
 * slot's unique row), by hand through the admin API, and once at start for a nightly slot that no instance ran
 * (the gateway was down, or the run was interrupted by a crash).
 */
export class JobService {
  readonly runs: RunsStore;
  private readonly lock: JobLock;
  private readonly jobs = new Map<string, Job>();
  private readonly timers = new Map<string, () => void>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();
  private started = false;

  constructor(
    private readonly deps: { db: Database; jobs: Job[]; clock: JobClock; logger: Logger; instance?: string; tracing?: Tracing },
  ) {
    for (const j of deps.jobs) this.jobs.set(j.name, j);
    this.lock = new JobLock(deps.db);
    this.runs = new RunsStore(deps.db.knex, deps.instance ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`);
  }

  get names(): string[] {
    return [...this.jobs.keys()];
  }

  has(name: string): boolean {
    return this.jobs.has(name);
  }

  /** Arms the schedule of every enabled job and catches up missed nightly slots. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const job of this.jobs.values()) {
      if (!job.enabled) continue;
      this.arm(job);
      this.track(this.catchUp(job));
    }
  }

  /** Disarms the timers, asks running jobs to stop at their next step and waits for them. */
  async stop(): Promise<void> {
    this.started = false;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    this.abort.abort();
    await this.idle();
  }

  /** Resolves once nothing started by this service is running (tests). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  async list(recent = 10): Promise<JobInfo[]> {
    const now = this.deps.clock.now();
    return Promise.all(
      [...this.jobs.values()].map(async (job) => {
        const runs = await this.runs.recent(job.name, recent);
        const next = job.enabled && this.started ? job.nextRunAt(now) : null;
        return {
          name: job.name,
          enabled: job.enabled,
          supportsDryRun: job.supportsDryRun,
          schedule: job.schedule(),
          nextRunAt: next === null ? null : iso(next),
          runningHere: this.lock.isHeldHere(job.name),
          lastRun: runs[0] ?? null,
          recentRuns: runs,
        };
      }),
    );
  }

  /**
   * Starts a run of `name` unless one is in progress anywhere. Resolves once the run is recorded (or refused);
   * `done` resolves with the finished record. Throws for an unknown job name.
   */
  async trigger(name: string, req: RunRequest): Promise<RunStart> {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`unknown job "${name}"`);
    let announce!: (s: RunStart | { state: 'error'; error: unknown }) => void;
    const announced = new Promise<RunStart | { state: 'error'; error: unknown }>((r) => (announce = r));
    const done = this.lock
      .tryRun(name, async () => {
        const run = await this.runs.claim({
          job: name,
          slot: req.slot === undefined ? null : iso(req.slot),
          trigger: req.trigger,
          dryRun: job.supportsDryRun && (req.dryRun ?? job.defaultDryRun ?? false),
          actor: req.actor ?? null,
          at: new Date(this.deps.clock.now()),
        });
        if (!run) {
          announce({ state: 'already-ran' });
          return null;
        }
        const finished = this.execute(job, run, req.slot ?? this.deps.clock.now());
        announce({ state: 'started', run, done: finished });
        return finished;
      })
      .then(
        (r) => {
          if (!r.acquired) announce({ state: 'busy' });
          return r.acquired ? r.value : null;
        },
        (error: unknown) => {
          announce({ state: 'error', error });
          return null;
        },
      );
    this.track(done);
    const s = await announced;
    if (s.state === 'error') throw s.error;
    return s;
  }

  private async execute(job: Job, run: JobRun, at: number): Promise<JobRun> {
    const counts: Record<string, number> = {};
    const errors: RunError[] = [];
    const ctx: JobContext = {
      run,
      dryRun: run.dryRun,
      at,
      now: () => this.deps.clock.now(),
      signal: this.abort.signal,
      count: (n, by = 1) => void (counts[n] = (counts[n] ?? 0) + by),
      error: (e) => {
        counts.failed = (counts.failed ?? 0) + 1;
        if (errors.length < 50) errors.push(e);
      },
    };
    let status: 'succeeded' | 'failed' | 'interrupted' = 'succeeded';
    try {
      const work = () => job.run(ctx);
      await (this.deps.tracing ? this.deps.tracing.span('claimgate.job', { 'claimgate.job': job.name, 'claimgate.dry_run': run.dryRun }, work) : work());
      if (this.abort.signal.aborted) status = 'interrupted';
    } catch (e) {
      status = 'failed';
      errors.push({ message: e instanceof Error ? e.message : String(e) });
      this.deps.logger.error('job run failed', { job: job.name, runId: run.id, cause: e });
    }
    const finished = await this.runs.finish(run.id, status, counts, errors, new Date(this.deps.clock.now()));
    this.deps.logger.info('job run finished', { job: job.name, runId: run.id, status, counts, dryRun: run.dryRun });
    return finished;
  }

  private arm(job: Job, after = this.deps.clock.now()): void {
    const next = job.nextRunAt(after);
    if (next === null) return;
    const cancel = this.deps.clock.setTimer(() => this.fire(job, next), next - this.deps.clock.now());
    this.timers.set(job.name, cancel);
  }

  private fire(job: Job, slot: number): Promise<unknown> {
    if (!this.started) return Promise.resolve();
    this.arm(job, slot);
    return this.track(this.runSlot(job, slot, 'schedule'));
  }

  private async runSlot(job: Job, slot: number, trigger: RunTrigger): Promise<void> {
    try {
      const s = await this.trigger(job.name, { trigger, slot, actor: `job:${job.name}` });
      if (s.state === 'started') await s.done;
      else this.deps.logger.debug('scheduled job run not started here', { job: job.name, slot: iso(slot), reason: s.state });
    } catch (e) {
      this.deps.logger.error('scheduled job run could not start', { job: job.name, slot: iso(slot), cause: e });
    }
  }

  private async catchUp(job: Job): Promise<void> {
    const due = job.lastDueAt?.(this.deps.clock.now()) ?? null;
    if (due === null) return;
    try {
      // Only a job with a history has missed anything: a first start does not run last night's job.
      if ((await this.runs.slotRan(job.name, iso(due))) || !(await this.runs.hasHistory(job.name))) return;
    } catch (e) {
      this.deps.logger.warn('could not check for missed job runs', { job: job.name, cause: e });
      return;
    }
    await this.runSlot(job, due, 'catch-up');
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }
}
