import { z } from 'zod';
import type { AdminDeps } from '../deps.js';
import { defineRoute, type AdminRoute } from '../route-table.js';

const inactiveUserSchema = z.object({
  id: z.string(),
  usercode: z.string(),
  userType: z.string(),
  lastActivityAt: z.string().nullable(),
  createdAt: z.string(),
});

/** Who the inactivity step of the next deletion run would suspend (nothing changes). */
export function inactivityRoutes(deps: Pick<AdminDeps, 'inactivity' | 'now'>): AdminRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/jobs/deletion/inactive',
      tag: 'jobs',
      scope: 'admin:read',
      summary: 'Users the next deletion run would suspend for inactivity',
      description: 'ACTIVE users of jobs.inactivity.userTypes whose last activity (or creation) is older than suspendAfterDays.',
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: z.object({
        enabled: z.boolean(),
        suspendAfterDays: z.number().nullable(),
        cutoff: z.string().nullable(),
        items: z.array(inactiveUserSchema),
      }),
      handler: async ({ query }) => {
        const step = deps.inactivity;
        if (!step) return { enabled: false, suspendAfterDays: null, cutoff: null, items: [] };
        const now = deps.now();
        return {
          enabled: true,
          suspendAfterDays: step.settings.suspendAfterDays,
          cutoff: step.cutoff(now).toISOString(),
          items: await step.preview(now, query.limit),
        };
      },
    }),
  ];
}
