import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import express, { type Request, type Response, type Router } from 'express';
import { startMetricsListener, writeMetrics } from '../../observability/metrics.js';
import type { GatewayContext } from '../../app/gateway-context.js';
import { mappingSchema } from '../../core/mapping/index.js';
import { MappingVersionStore } from './mapping-store.js';
import { MappingSync } from './mapping-sync.js';
import { scimRoleRulesOf } from './scim-role-rules.js';
import { buildOpenApi } from './openapi.js';
import { mountRoutes, type AdminRoute } from './route-table.js';
import { logRoutes, requestLogPurgeJob } from './routes/logs.js';
import { mappingRoutes } from './routes/mappings.js';
import { tokenRoutes } from './routes/tokens.js';
import { scimRoleRoutes } from './routes/scim-roles.js';
import { eventQueueRoutes } from './routes/event-queue.js';
import { userRoutes } from './routes/users.js';
import { inactivityRoutes } from './routes/inactivity.js';
import { consoleApiRoutes } from './routes/console.js';
import { lifecycleAdminJobs } from '../jobs/index.js';

export { MappingVersionStore } from './mapping-store.js';
export { MappingSync } from './mapping-sync.js';

const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/** Every operation of the admin API, in documentation order. */
export function adminRouteTable(ctx: GatewayContext): AdminRoute[] {
  const store = new MappingVersionStore(ctx.db.knex, ctx.now);
  return [...userRoutes(ctx), ...mappingRoutes(ctx, store), ...tokenRoutes(ctx), ...scimRoleRoutes(ctx), ...eventQueueRoutes(ctx), ...logRoutes(ctx, [requestLogPurgeJob(ctx), ...lifecycleAdminJobs(() => ctx.jobs)]), ...inactivityRoutes(ctx), ...consoleApiRoutes(ctx, store)];
}

/**
 * The admin API under `<basePath>/admin/v1` (docs/admin-api.md) and the Prometheus metrics at
 * `<basePath>/metrics` (scope `metrics:read`). The OpenAPI document is open: it describes the API, it holds no data.
 */
export function adminRoutes(router: Router, ctx: GatewayContext): void {
  const routes = adminRouteTable(ctx);
  // Built on first request, not at start-up: turning the zod schemas into JSON Schema costs about 100 ms of CPU
  // per process, and most gateways are never asked for the document.
  let openapi: ReturnType<typeof buildOpenApi> | undefined;
  const api = express.Router({ caseSensitive: true, strict: false });
  api.use(express.json({ limit: ctx.config.limits.bodyBytes, type: ['application/json', 'application/*+json'] }));
  api.get('/openapi.json', (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-cache');
    openapi ??= buildOpenApi(routes, { basePath: ctx.config.basePath, publicUrl: ctx.config.publicUrl, version: VERSION, mappingSchema });
    res.json(openapi);
  });
  mountRoutes(api, ctx, routes);
  router.use('/admin/v1', api);
  router.get('/metrics', async (req: Request, res: Response) => {
    await ctx.credentials.auth.require(req, 'metrics:read');
    await writeMetrics(ctx.metrics, res);
  });
}

/** What the admin capability runs beside the routes; `stop()` on gateway close. */
export interface AdminRuntime {
  mappings: MappingSync;
  stop(): Promise<void>;
}

/**
 * Started once per gateway, before it serves: loads the stored mapping versions into the registry and follows
 * changes through the invalidation bus, purges old request-log rows hourly, and opens the separate metrics
 * listener when `metrics.listen` is set.
 */
export async function startAdminRuntime(ctx: GatewayContext): Promise<AdminRuntime> {
  const mappings = new MappingSync({ store: new MappingVersionStore(ctx.db.knex, ctx.now), registry: ctx.mappings, bus: ctx.bus, logger: ctx.logger });
  await mappings.start();
  const scimRoles = scimRoleRulesOf(ctx);
  await scimRoles.start();
  const purge = requestLogPurgeJob(ctx);
  const timer = setInterval(() => {
    purge.run().catch((e) => ctx.logger.warn('request log purge failed', { cause: e }));
  }, 3_600_000);
  timer.unref();
  let server: Server | null = null;
  if (ctx.config.metrics.listen) {
    try {
      server = await startMetricsListener(ctx.metrics, ctx.config.metrics.listen, ctx.config.basePath);
    } catch (e) {
      mappings.stop();
      scimRoles.stop();
      clearInterval(timer);
      throw e;
    }
  }
  return {
    mappings,
    async stop() {
      mappings.stop();
      scimRoles.stop();
      clearInterval(timer);
      if (server) {
        const s = server;
        await new Promise<void>((r) => {
          s.close(() => r());
          s.closeAllConnections();
        });
      }
    },
  };
}
