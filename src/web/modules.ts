import type { RouteModule } from '../app/http-app.js';
import { adminRoutes } from '../features/admin/index.js';
import { oidcRoutes } from '../features/oidc/routes.js';
import { forwardAuthRoutes } from '../features/forward-auth/forward-auth.js';
import { redirectModeRoutes } from '../features/redirect/redirect-mode.js';
import { scimRoutes } from '../features/scim/routes.js';
import { userSyncRoutes } from '../features/sync/routes.js';
import { eventRoutes } from '../features/events/index.js';
import { consoleRoutes } from '../features/console/routes.js';

/**
 * The route groups mounted under basePath beside the sign-in routes of app/http-app.ts, one module per capability (each
 * lives in its own folder and registers its routes on the router it is given). Add a capability here.
 */
export const defaultRouteModules: RouteModule[] = [oidcRoutes, forwardAuthRoutes, redirectModeRoutes, adminRoutes, scimRoutes, userSyncRoutes, eventRoutes, consoleRoutes];
