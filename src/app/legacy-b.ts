import type { Router } from 'express';
import type { GatewayParts } from './parts.js';
import type { GatewayContext } from './gateway-context.js';
import type { Feature } from '../web/feature.js';
import type { AuthContext } from '../core/sessions/authenticator.js';
import { adminRoutes, startAdminRuntime, type AdminRuntime } from '../features/admin/index.js';
import { scimRoutes } from '../features/scim/routes.js';
import { userSyncRoutes } from '../features/sync/routes.js';
import { eventRoutes } from '../features/events/index.js';
import { consoleRoutes } from '../features/console/routes.js';
import { consoleFields } from '../features/console/me-fields.js';

/**
 * The admin, SCIM, sync, events and console capabilities, whose route modules still take the whole-gateway
 * context: each is adapted here into a Feature over a context built from the parts. Also returns the console's
 * additions to `/me`.
 */
export function legacyFeaturesB(parts: GatewayParts): { features: Feature[]; meFields: (auth: AuthContext) => Record<string, unknown> } {
  const closers: (() => Promise<void>)[] = [];
  const ctx: GatewayContext = { ...parts, onClose: (stop) => void closers.push(stop) };
  let admin: AdminRuntime | null = null;
  const module = (m: (router: Router, ctx: GatewayContext) => void): Feature => ({ routes: (r) => m(r, ctx) });
  const features: Feature[] = [
    {
      // Stored mapping versions are in force before the first request (and followed through the bus after).
      async start() {
        admin = await startAdminRuntime(ctx);
      },
      async close() {
        await admin?.stop();
      },
    },
    module(adminRoutes),
    module(scimRoutes),
    module(userSyncRoutes),
    module(eventRoutes),
    module(consoleRoutes),
    {
      async close() {
        for (const stop of closers) await stop();
      },
    },
  ];
  return { features, meFields: (auth) => consoleFields(ctx, auth) };
}
