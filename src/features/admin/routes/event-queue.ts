import { z } from 'zod';
import type { AdminDeps } from '../deps.js';
import { queueStatus } from '../../../store/event-queue.js';
import { defineRoute, type AdminRoute } from '../route-table.js';

/** The event receiver's queue: how many events wait, how many are failing, and the oldest. */
export function eventQueueRoutes(deps: AdminDeps): AdminRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/provisioning/events/queue',
      tag: 'provisioning',
      scope: 'admin:read',
      summary: 'Queued identity-service events: depth and failures',
      description: 'Events of large pushes wait here until applied; `failing` counts those being retried with back-off.',
      response: z.object({ depth: z.number(), failing: z.number(), oldest: z.string().nullable(), lastError: z.string().nullable() }),
      handler: async () => queueStatus(deps.knex),
    }),
  ];
}
