import type { RouteModule } from '../app/http-app.js';
import { oidcRoutes } from '../features/oidc/routes.js';
import { forwardAuthRoutes } from '../features/forward-auth/forward-auth.js';
import { redirectModeRoutes } from '../features/redirect/redirect-mode.js';

/**
 * The route groups mounted under basePath beside the sign-in routes of app.ts, one module per capability (each
 * lives in its own folder and registers its routes on the router it is given). The admin, console, SCIM, sync and event routes are
 * features of src/app/wiring-b.ts, mounted after these.
 */
export const defaultRouteModules: RouteModule[] = [oidcRoutes, forwardAuthRoutes, redirectModeRoutes];
