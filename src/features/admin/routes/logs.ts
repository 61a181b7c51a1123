import { purgeRequestLogs, retentionOf } from '../../../observability/request-log.js';
import { GatewayError } from '../../../core/errors/errors.js';
import type { AdminDeps, AdminJob } from '../deps.js';

export type { AdminJob };
import { recordAudit } from '../../../store/audit-log.js';
import { queryAudit, queryRequestLogs } from '../audit-query.js';
import { defineRoute, type AdminRoute } from '../route-table.js';
import { auditEventSchema, auditQuery, jobSchema, list, nameParams, requestLogQuery, requestLogSchema } from '../schemas.js';
import { z } from 'zod';

export function logRoutes(deps: AdminDeps, jobs: AdminJob[]): AdminRoute[] {
  const lastRuns = new Map<string, Record<string, unknown>>();
  return [
    defineRoute({
      method: 'get',
      path: '/audit',
      tag: 'audit',
      scope: 'admin:read',
      summary: 'The audit trail, newest first',
      description:
        'Logins, denials (with the rule), role and permission changes (source, before/after), lifecycle changes and admin actions (actor `admin:<credential>`). `user` and `role` together answer "why does this user have this role".',
      query: auditQuery,
      response: list(auditEventSchema),
      handler: async ({ query }) => queryAudit(deps.knex, query),
    }),
    defineRoute({
      method: 'get',
      path: '/request-logs',
      tag: 'audit',
      scope: 'admin:read',
      summary: 'Request logs of API, SCIM, token and event calls (masked), newest first',
      query: requestLogQuery,
      response: list(requestLogSchema),
      handler: async ({ query }) => queryRequestLogs(deps.knex, query),
    }),
    defineRoute({
      method: 'get',
      path: '/jobs',
      tag: 'jobs',
      scope: 'admin:read',
      summary: 'Jobs that can be run on demand',
      response: list(jobSchema),
      handler: async () => ({
        items: await Promise.all(
          jobs.map(async (j) => ({ name: j.name, description: j.description, lastRun: lastRuns.get(j.name) ?? null, ...(await j.describe?.()) })),
        ),
        nextCursor: null,
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/jobs/:name/run',
      tag: 'jobs',
      scope: 'admin:write',
      summary: 'Run a job now',
      params: nameParams,
      response: z.record(z.string(), z.unknown()),
      errors: [404],
      handler: async ({ params, actor, req }) => {
        const job = jobs.find((j) => j.name === params.name);
        if (!job) throw new GatewayError('job_not_found', `There is no job called "${params.name}".`);
        const started = new Date(deps.now()).toISOString();
        // Without ?dryRun the job's configured default applies (jobs.deletion.dryRun: true stays a dry run).
        const dryRun = req.query.dryRun === undefined ? undefined : req.query.dryRun === 'true';
        const result = await job.run({ actor, dryRun });
        // `dryRun` is what the caller asked for; without it the job's own default applied and the result tells.
        const run = { startedAt: started, finishedAt: new Date(deps.now()).toISOString(), by: actor, ...(dryRun === undefined ? {} : { dryRun }), result };
        lastRuns.set(job.name, run);
        await recordAudit(deps.knex, { type: 'job_run', actor, source: 'admin', detail: { job: job.name, result } });
        return { name: job.name, ...run };
      },
    }),
  ];
}

/** The request-log purge (`logs.retentionDays`, per row kind), also run hourly by every instance. */
export function requestLogPurgeJob(deps: AdminDeps): AdminJob {
  const days = retentionOf(deps.config.logs);
  return {
    name: 'request-log-purge',
    description: `Deletes request-log rows older than logs.retentionDays (request ${days.request}, payload ${days.payload}, exception ${days.exception} days).`,
    run: async (opts) => {
      if (!opts?.dryRun) return { deleted: await purgeRequestLogs(deps.knex, days, deps.now()) };
      return { wouldDelete: await purgeRequestLogs(deps.knex, days, deps.now(), true) };
    },
  };
}
