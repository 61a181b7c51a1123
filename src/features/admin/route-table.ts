import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import type { ApiPrincipal, Scope } from '../../core/credentials/index.js';
import { requireAdmin, type AdminAuthDeps } from '../../web/admin-auth.js';
import { GatewayError } from '../../core/errors/errors.js';
import { joinPath } from '../../core/mapping/paths.js';
import { hasControlCharacter, maskControlCharacters } from '../../core/users/text-rules.js';

/** What a handler gets: validated input and the caller. */
export interface AdminCall<P, Q, B> {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
  /** The credential, or null for a person signed in to the console. */
  principal: ApiPrincipal | null;
  /** For the audit trail: `admin:<credential name>`, or `user:<usercode>` for the console. */
  actor: string;
}

/**
 * One admin API operation: the Express route and its OpenAPI entry come from this one declaration, and the zod
 * schemas here both validate the request and describe it.
 */
export interface AdminRoute<P = any, Q = any, B = any> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express-style path below `/admin/v1`, e.g. `/users/:id`. */
  path: string;
  scope: Extract<Scope, 'admin:read' | 'admin:write'>;
  summary: string;
  description?: string;
  tag: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** The body is a whole mapping document (documented as the Mapping schema, validated by the mapping compiler). */
  bodyIsMapping?: boolean;
  /** Content types the body may have (default application/json). */
  bodyTypes?: string[];
  /** The 200 answer; none: 204 No Content. */
  response?: z.ZodType;
  /** Extra error statuses worth documenting (400, 401, 403 always are). */
  errors?: number[];
  /** Returns the JSON answer, or undefined for 204. */
  handler(call: AdminCall<P, Q, B>): Promise<unknown>;
}

/** `defineRoute` only exists to infer P, Q and B from the schemas. */
export function defineRoute<P, Q, B>(r: AdminRoute<P, Q, B>): AdminRoute<P, Q, B> {
  return r;
}

/** A zod failure as `400 invalid_request` listing every problem with its path (e.g. `body.lifecycle`). */
export function invalid(where: 'params' | 'query' | 'body', error: z.ZodError): GatewayError {
  const problems = error.issues.map((i) => ({ path: joinPath(where, ...i.path), message: i.message }));
  return new GatewayError('invalid_request', 400, `The request is invalid: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, {
    extra: { problems },
  });
}

/**
 * Path and query values are names, ids, search terms and cursors: none may hold a control character (NUL cannot
 * even reach the database). Refused here, once for every admin route, as `400 invalid_request`.
 */
function refuseControlCharacters(where: 'params' | 'query', value: unknown): void {
  const bad = Object.entries((value ?? {}) as Record<string, unknown>).find(([k, v]) =>
    hasControlCharacter(k) || [v].flat().some((x) => typeof x === 'string' && hasControlCharacter(x)),
  );
  if (!bad) return;
  const path = joinPath(where, maskControlCharacters(bad[0]));
  throw new GatewayError('invalid_request', 400, `The request is invalid: ${path}: contains a control character`, {
    extra: { problems: [{ path, message: 'contains a control character' }] },
  });
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: 'params' | 'query' | 'body'): T {
  if (where !== 'body') refuseControlCharacters(where, value);
  if (!schema) return undefined as T;
  const r = schema.safeParse(value);
  if (!r.success) throw invalid(where, r.error);
  return r.data;
}

/** Registers the routes on `router` (already below `/admin/v1`). */
export function mountRoutes(router: Router, deps: AdminAuthDeps, routes: AdminRoute[]): void {
  for (const route of routes) {
    router[route.method](route.path, async (req: Request, res: Response) => {
      const caller = await requireAdmin(deps, req, route.scope);
      if (route.body && req.method !== 'GET' && req.method !== 'DELETE') {
        const types = route.bodyTypes ?? ['application/json'];
        if (!req.is(types)) {
          throw new GatewayError('unsupported_media_type', 415, `Send the body as ${types.join(' or ')}.`);
        }
      }
      const params = parse(route.params, req.params, 'params');
      const query = parse(route.query, { ...(req.query as object) }, 'query');
      const body = parse(route.body, req.body ?? {}, 'body');
      const out = await route.handler({ req, res, params, query, body, principal: caller.principal, actor: caller.actor });
      res.setHeader('Cache-Control', 'no-store');
      if (out === undefined) res.status(204).end();
      else res.status(res.statusCode === 200 ? 200 : res.statusCode).json(out);
    });
  }
}
