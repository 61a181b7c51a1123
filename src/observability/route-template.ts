import type { Request } from 'express';

const templates = new WeakMap<Request, { template: string; params: Record<string, string> }>();

/**
 * Records the matched route's template (`/claimgate/scim/v2/Users/:id`) when Express picks a route, whatever
 * router it lives in. Express restores `req.baseUrl` when an error leaves a nested router, so the template is
 * taken at the moment the route is set, not when the answer is written.
 */
export function trackRouteTemplate(req: Request): void {
  let route: unknown;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (v: unknown) => {
      route = v;
      const path = (v as { path?: unknown } | undefined)?.path;
      if (typeof path === 'string') templates.set(req, { template: `${req.baseUrl}${path === '/' ? '' : path}`, params: { ...(req.params as Record<string, string>) } });
    },
  });
}

/** The template of the route that answered, or `<prefix>/*` when none matched (the raw path may name a person). */
export function routeTemplate(req: Request, basePath: string, prefixes: readonly string[]): string {
  const t = templates.get(req);
  if (t) return t.template;
  const path = (req.originalUrl ?? req.url).split('?')[0]!;
  const rest = path.startsWith(basePath) ? path.slice(basePath.length) : path;
  const prefix = prefixes.find((p) => rest === p || rest.startsWith(`${p}/`));
  if (prefix === undefined) return `${basePath}/*`;
  return rest === prefix ? `${basePath}${prefix}` : `${basePath}${prefix}/*`;
}

/** The values of the path parameters of the matched route (`{ id: "…" }`): to be kept out of stored rows. */
export function routeParams(req: Request): Record<string, string> {
  return templates.get(req)?.params ?? {};
}
