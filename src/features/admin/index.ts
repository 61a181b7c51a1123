import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { startMetricsListener, writeMetrics } from '../../observability/metrics.js';
import { packageRoot } from '../../core/package-root.js';
import type { AdminDeps } from './deps.js';
import type { Feature } from '../../web/feature.js';
import { mappingSchema } from '../../core/mapping/index.js';
import { MappingVersionStore } from './mapping-store.js';
import { MappingSync } from './mapping-sync.js';
import { ScimRoleRules } from './scim-role-rules.js';
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
import { startLocalAdminSocket } from './local-socket.js';

export { MappingVersionStore } from './mapping-store.js';
export { MappingSync } from './mapping-sync.js';
export type { AdminDeps, InactivityPreview } from './deps.js';
export type { AdminJob } from './routes/logs.js';
export { ScimRoleRules, type ScimRuleSet } from './scim-role-rules.js';

const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/** Every operation of the admin API, in documentation order. */
export function adminRouteTable(deps: AdminDeps, store: MappingVersionStore, scimRoles: ScimRoleRules): AdminRoute[] {
  return [
    ...userRoutes(deps),
    ...mappingRoutes(deps, store),
    ...tokenRoutes(deps),
    ...scimRoleRoutes(deps, scimRoles),
    ...eventQueueRoutes(deps),
    ...logRoutes(deps, [requestLogPurgeJob(deps), ...deps.jobs]),
    ...inactivityRoutes(deps),
    ...consoleApiRoutes(deps, store),
  ];
}

/** The admin capability: its API and metrics routes, and what runs beside them. */
export interface Admin extends Feature {
  /** The SCIM role rules in force (the SCIM service reads them; the admin API changes them). */
  readonly scimRoles: ScimRoleRules;
  /** Stored mapping versions, followed into the registry. */
  readonly mappingSync: MappingSync;
  /** The local admin socket's path while it listens (a gateway owning an embedded data directory). */
  localSocketPath(): string | null;
}

/**
 * The admin API under `<basePath>/admin/v1` (docs/admin-api.md) and the Prometheus metrics at
 * `<basePath>/metrics` (scope `metrics:read`). The OpenAPI document is open: it describes the API, it holds no data.
 *
 * Started before the gateway serves: loads the stored mapping versions and SCIM role rules and follows their
 * changes through the invalidation bus, purges old request-log rows hourly, opens the separate metrics listener
 * when `metrics.listen` is set, and the local admin socket when the gateway owns an embedded data directory.
 */
export function createAdmin(deps: AdminDeps): Admin {
  const store = new MappingVersionStore(deps.knex, deps.now);
  const mappingSync = new MappingSync({ store, registry: deps.mappings, bus: deps.bus, logger: deps.logger });
  const scimRoles = new ScimRoleRules({ config: deps.config, bus: deps.bus, logger: deps.logger, store });
  const purge = requestLogPurgeJob(deps);
  let timer: NodeJS.Timeout | null = null;
  let server: Server | null = null;
  let localSocket: { path: string; close(): Promise<void> } | null = null;

  const close = async () => {
    mappingSync.stop();
    scimRoles.stop();
    if (timer) clearInterval(timer);
    timer = null;
    const s = server;
    server = null;
    if (s) {
      await new Promise<void>((r) => {
        s.close(() => r());
        s.closeAllConnections();
      });
    }
    const l = localSocket;
    localSocket = null;
    await l?.close();
  };

  return {
    scimRoles,
    mappingSync,
    localSocketPath: () => localSocket?.path ?? null,
    routes(router: Router) {
      const routes = adminRouteTable(deps, store, scimRoles);
      // Built on first request, not at start-up: turning the zod schemas into JSON Schema costs about 100 ms of CPU
      // per process, and most gateways are never asked for the document.
      let openapi: ReturnType<typeof buildOpenApi> | undefined;
      const api = express.Router({ caseSensitive: true, strict: false });
      api.use(express.json({ limit: deps.config.limits.bodyBytes, type: ['application/json', 'application/*+json'] }));
      api.get('/openapi.json', (_req: Request, res: Response) => {
        res.setHeader('Cache-Control', 'no-cache');
        openapi ??= buildOpenApi(routes, { basePath: deps.config.basePath, publicUrl: deps.config.publicUrl, version: VERSION, mappingSchema });
        res.json(openapi);
      });
      mountRoutes(api, deps, routes);
      router.use('/admin/v1', api);
      router.get('/metrics', async (req: Request, res: Response) => {
        await deps.credentials.auth.require(req, 'metrics:read');
        await writeMetrics(deps.metrics, res);
      });
    },
    async start() {
      try {
        // Stored mapping versions are in force before the first request (and followed through the bus after).
        await mappingSync.start();
        await scimRoles.start();
        warnOverriddenMappings(deps);
        timer = setInterval(() => {
          purge.run().catch((e) => deps.logger.warn('request log purge failed', { cause: e }));
        }, 3_600_000);
        timer.unref();
        if (deps.config.metrics.listen) server = await startMetricsListener(deps.metrics, deps.config.metrics.listen, deps.config.basePath);
        // The embedded database can be open in one process only: this gateway runs the CLI's admin commands for it.
        if (deps.localSocket) {
          localSocket = await startLocalAdminSocket({
            lock: deps.localSocket.lock,
            dataDir: resolve(deps.localSocket.dataDir),
            store: deps.credentials.store,
            knex: deps.knex,
            logger: deps.logger,
          });
        }
      } catch (e) {
        await close();
        throw e;
      }
    },
    close,
  };
}

/** Otherwise an edit of the file's mapping seems to be ignored: the stored version wins until it is deleted. */
function warnOverriddenMappings(deps: Pick<AdminDeps, 'mappings' | 'logger'>): void {
  for (const name of deps.mappings.names()) {
    const active = deps.mappings.get(name);
    if (active?.source === 'database' && deps.mappings.fileMapping(name)) {
      deps.logger.warn('a mapping saved through the admin API overrides the configuration file', {
        mapping: name,
        version: active.version,
        hint: `DELETE <basePath>/admin/v1/mappings/${name} returns to the file's mapping`,
      });
    }
  }
}
