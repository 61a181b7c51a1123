import type { RouteModule } from './app.js';
import { adminRoutes } from '../admin/index.js';
import { oidcRoutes } from '../oidc/routes.js';
import { forwardAuthRoutes } from '../forwarding/forward-auth.js';
import { redirectModeRoutes } from '../forwarding/redirect-mode.js';
import { scimRoutes } from '../provisioning/scim/routes.js';
import { userSyncRoutes } from '../provisioning/sync/routes.js';
import { eventRoutes } from '../provisioning/events/index.js';
import { consoleRoutes } from '../console/routes.js';

/**
 * The route groups mounted under basePath beside the sign-in routes of app.ts, one module per capability (each
 * lives in its own folder and registers its routes on the router it is given). Add a capability here.
 */
export const defaultRouteModules: RouteModule[] = [oidcRoutes, forwardAuthRoutes, redirectModeRoutes, adminRoutes, scimRoutes, userSyncRoutes, eventRoutes, consoleRoutes];
