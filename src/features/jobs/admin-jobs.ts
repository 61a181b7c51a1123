import { GatewayError } from '../../core/errors/errors.js';
import type { JobService } from './job-service.js';

/**
 * The lifecycle jobs in the shape the admin API's `…/jobs` routes take (src/features/admin/routes/logs.ts `AdminJob`):
 * `describe()` adds the schedule and the recorded runs (any instance) to the list item, `run()` runs the job
 * now and answers the finished run record, `409 job_running` while a run is in progress on any instance.
 */
export function lifecycleAdminJobs(jobs: JobService) {
  const descriptions: Record<string, string> = {
    deletion:
      'Nightly deletion sync: users suspended before the grace deadline become DEPROVISIONED and lose every right except SCIM memberships (?dryRun=true: count only).',
    profile: 'Profile sync: completes empty profile fields from the configured directory and records PROFILE_SYNC in each user status.',
  };
  return jobs.names.map((name) => ({
    name,
    description: descriptions[name] ?? name,
    async describe(): Promise<Record<string, unknown>> {
      const info = (await jobs.list()).find((j) => j.name === name);
      return info ? { ...info } : {};
    },
    async run(opts: { actor?: string; dryRun?: boolean } = {}): Promise<Record<string, unknown>> {
      const s = await jobs.trigger(name, { trigger: 'manual', dryRun: opts.dryRun, actor: opts.actor ?? null });
      if (s.state !== 'started') {
        throw new GatewayError('job_running', 409, `The job "${name}" is running already; try again when it has finished.`);
      }
      return { run: await s.done };
    },
  }));
}
