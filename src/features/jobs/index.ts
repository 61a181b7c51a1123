import type { Tracing } from '../../observability/tracing.js';
import type { Logger } from '../../observability/logger.js';
import type { Config } from '../../core/config/schema.js';
import type { Database } from '../../store/db/index.js';
import { systemClock, type JobClock } from './clock.js';
import { DeletionJob, type DeletionStep } from './deletion-job.js';
import { JobService } from './job-service.js';
import { ProfileJob } from './profile-job.js';
import { InactivityStep } from './inactivity.js';
import type { Feature } from '../../web/feature.js';

export { JobService, type JobInfo, type RunStart } from './job-service.js';
export type { JobClock } from './clock.js';
export type { DeletionStep } from './deletion-job.js';
export type { JobContext } from './job.js';
export type { JobRun } from './runs-store.js';
export { lifecycleAdminJobs } from './admin-jobs.js';

/** How the gateway runs its jobs (tests pass a fake clock, or disable the schedule). */
export interface JobsOptions {
  /** Default: the wall clock. */
  clock?: JobClock;
  /** True: nothing is scheduled (runs through the admin API still work). */
  disabled?: boolean;
}

/** The inactivity step of the deletion job, when `jobs.inactivity` is configured. */
export function inactivityStep(deps: { config: Config; db: Database; onUserChanged?: (userId: string) => void }): InactivityStep | undefined {
  const c = deps.config.jobs.inactivity;
  return c ? new InactivityStep({ knex: deps.db.knex, config: c, onUserChanged: deps.onUserChanged ?? (() => undefined) }) : undefined;
}

/** The deletion and profile jobs over the gateway's database; `onUserChanged` invalidates caches everywhere. */
export function createJobService(deps: {
  config: Config;
  db: Database;
  logger: Logger;
  onUserChanged: (userId: string) => void;
  clock?: JobClock;
  tracing?: Tracing;
  /** Outbound fetch for the profile directory (the egress proxy). */
  fetch?: typeof fetch;
  /** The change events' full-push reconciliation, run by the deletion job (when `provisioning.events.fullSync` is set). */
  fullSync?: DeletionStep;
}): JobService {
  const { config, db } = deps;
  return new JobService({
    db,
    logger: deps.logger,
    clock: deps.clock ?? systemClock,
    tracing: deps.tracing,
    jobs: [
      new DeletionJob({
        knex: db.knex,
        config: config.jobs.deletion,
        onUserChanged: deps.onUserChanged,
        inactivity: inactivityStep(deps),
        fullSync: deps.fullSync,
      }),
      new ProfileJob({ knex: db.knex, config: config.jobs.profile, onUserChanged: deps.onUserChanged, fetch: deps.fetch }),
    ],
  });
}

/** What the jobs capability uses: the job service the composition root built (`lifecycleAdminJobs` lends it to the admin API). */
export interface JobsDeps {
  jobs: Pick<JobService, 'start' | 'stop'>;
  /** True: nothing is scheduled (runs through the admin API still work). */
  disabled?: boolean;
}

/** The schedule of the lifecycle jobs: started with the gateway; closing it interrupts the runs in progress. */
export function createJobs(deps: JobsDeps): Feature {
  return {
    start: () => {
      if (!deps.disabled) deps.jobs.start();
    },
    close: () => deps.jobs.stop(),
  };
}
