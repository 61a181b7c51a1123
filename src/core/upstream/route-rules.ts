/**
 * Route rules (`routes` in docs/configuration.md): which proxied paths need which roles. First match wins.
 *
 * Security: the matcher is deliberately generous, so that any disagreement with the app about what a path
 * means makes a rule match *more* requests, never fewer:
 * - it works on the output of `normalizeRequestPath` (decoded, dot-normalised, `//` collapsed, no query), so
 *   `//admin/x`, `/a/../admin/x` and `/admin?x=/public` are all `/admin/...`, and `/admin%2Fx` never gets here;
 * - it compares the NFKC form, so a full-width `ａｄｍｉｎ` segment is `admin` to the rules as it is to an app
 *   that folds Unicode (look-alike separators and trailing dots or spaces are refused by the normaliser);
 * - it compares case-insensitively, because many apps (and every app on a case-insensitive file system) serve
 *   `/ADMIN/x` as `/admin/x`;
 * - it compares each segment only up to its first `;` (Tomcat/Jetty path parameters), so `/admin;x/y` is
 *   under `/admin/*` (the `..;` variant is refused by the normaliser);
 * - an exact rule also matches its path with a trailing `/` (Express and most frameworks route `/reports/`
 *   like `/reports`);
 * - a rule restricted to `GET` also covers `HEAD` (frameworks answer HEAD with the GET handler), and an empty
 *   `methods` list means every method, not none.
 */
import type { RouteConfig } from '../config/schema.js';
import { normalizeRequestPath } from './path-normalize.js';

export interface RouteMatcher {
  /** The first rule matching a path from `normalizeRequestPath` and a method, or `undefined`. */
  match(normalizedPath: string, method: string): RouteConfig | undefined;
}

export type RouteDecision = 'public' | 'allow' | 'deny' | 'login';

interface CompiledRule {
  rule: RouteConfig;
  /** Match key of the path (or of the prefix for `/x/*`; `''` for `/*`). */
  key: string;
  prefix: boolean;
  methods: Set<string> | null;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * The comparison form of a path: NFKC, lowercase, each segment cut at its first `;`, empty segments dropped
 * (which also drops a trailing `/`). `/Admin;jsessionid=1/X/` → `/admin/x`.
 */
export function routeMatchKey(path: string): string {
  // The common case: an ASCII path (NFKC leaves it alone) with no `;`, `//` or trailing `/` is its own key, lowercased.
  if (PRINTABLE_ASCII.test(path) && path.startsWith('/') && !path.includes(';') && !path.includes('//') && (path.length === 1 || !path.endsWith('/'))) {
    return path.toLowerCase();
  }
  const segments = path
    .normalize('NFKC')
    .toLowerCase()
    .split('/')
    .map((s) => {
      const i = s.indexOf(';');
      return i === -1 ? s : s.slice(0, i);
    })
    .filter((s) => s !== '');
  return `/${segments.join('/')}`;
}

/**
 * Compiles `routes`. Throws on a path with `*` anywhere but as the whole last segment (`/reports/*`), with a
 * message naming `routes[i].path` — config validation should call this once at load time.
 */
export function compileRoutes(routes: readonly RouteConfig[]): RouteMatcher {
  const compiled: CompiledRule[] = routes.map((rule, i) => {
    const prefix = rule.path.endsWith('/*');
    const body = prefix ? rule.path.slice(0, -2) : rule.path;
    if (body.includes('*')) {
      throw new Error(`routes[${i}].path: "*" is only allowed as the whole last segment, as in "/reports/*"`);
    }
    // Rule paths are written decoded; normalise them like request paths when possible.
    const norm = normalizeRequestPath(body === '' ? '/' : body);
    const key = routeMatchKey(norm.ok ? norm.path : body);
    const methods =
      rule.methods && rule.methods.length > 0 ? new Set(rule.methods.map((m) => m.toUpperCase())) : null;
    if (methods?.has('GET')) methods.add('HEAD');
    return { rule, key: prefix && key === '/' ? '' : key, prefix, methods };
  });

  return {
    match(normalizedPath: string, method: string): RouteConfig | undefined {
      if (compiled.length === 0) return undefined;
      const key = routeMatchKey(normalizedPath);
      const m = method.toUpperCase();
      for (const c of compiled) {
        if (c.methods && !c.methods.has(m)) continue;
        if (c.prefix) {
          if (c.key === '' || key === c.key || key.startsWith(`${c.key}/`)) return c.rule;
        } else if (key === c.key) {
          return c.rule;
        }
      }
      return undefined;
    },
  };
}

/**
 * The decision for a matched rule (or none) and the signed-in user (or `null`):
 * - `public` rule → `'public'` (passes without sign-in; client identity headers are still stripped);
 * - no user → `'login'`;
 * - no rule → `'allow'` (any signed-in user);
 * - otherwise every condition given must hold (AND): `anyRole` (at least one), `allRoles` (each),
 *   `anyPermission` (at least one). An empty `anyRole`/`anyPermission` list can never be satisfied
 *   (fail closed); an empty `allRoles` is vacuously true. Names compare exactly.
 */
export function authorize(
  rule: RouteConfig | undefined,
  user: { roles: readonly string[]; permissions: readonly string[] } | null,
): RouteDecision {
  if (rule?.public === true) return 'public';
  if (!user) return 'login';
  if (!rule) return 'allow';
  const roles = new Set(user.roles);
  const permissions = new Set(user.permissions);
  if (rule.anyRole && !rule.anyRole.some((r) => roles.has(r))) return 'deny';
  if (rule.allRoles && !rule.allRoles.every((r) => roles.has(r))) return 'deny';
  if (rule.anyPermission && !rule.anyPermission.some((p) => permissions.has(p))) return 'deny';
  return 'allow';
}
