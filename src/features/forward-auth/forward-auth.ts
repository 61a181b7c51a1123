import type { Request, Response, Router } from 'express';
import type { GatewayContext } from '../../app/gateway-context.js';
import { GatewayError } from '../../core/errors/errors.js';
import { resolveClient, compileTrustedProxies } from '../../web/client-ip.js';
import { normalizeRequestPath } from '../../core/upstream/path-normalize.js';
import { escapeHtml, htmlPage, wantsHtml } from '../../web/problem.js';
import { buildIdentityHeaders } from '../../web/identity-headers.js';
import { authorize, compileRoutes } from '../../core/upstream/route-rules.js';

/** The answer of `/auth`. nginx's auth_request treats anything but 2xx, 401 and 403 as an error. */
export type ForwardAuthStatus = 200 | 401 | 403;

export interface ForwardAuthDecision {
  status: ForwardAuthStatus;
  code: string;
  /** Identity headers and the assertion (200 for a signed-in user only; a public route carries none). */
  headers: Record<string, string>;
  /** The original request-target the decision was made for (`/` when no trusted proxy named one). */
  originalUri: string;
}

/** Methods a trusted proxy may name in X-Original-Method / X-Forwarded-Method. */
const METHOD = /^[A-Z]{1,16}$/;

/**
 * forward-auth mode (docs/http-interface.md#forward-auth-mode): `GET <basePath>/auth` for nginx `auth_request` and Traefik `ForwardAuth`.
 *
 * Answers only 200 (with the identity headers and the assertion), 401 (no or bad credential) or 403 (a route
 * rule, a suspended user, a refused path). The route rules are evaluated for the original request, which only a
 * proxy in `trustedProxies` may name (`X-Original-URI`, else `X-Forwarded-Uri`; method from
 * `X-Original-Method`/`X-Forwarded-Method`); from anyone else, or without one, the decision is made for `GET /`.
 * A client that reaches this endpoint directly therefore cannot pick a public path to pass a protected one.
 * Client-sent `X-Claimgate-*` request headers were already stripped by the front door (features/proxy/dispatch.ts).
 * Every internal failure is a 401 too (fail closed; the cause is logged).
 */
export function forwardAuthRoutes(router: Router, ctx: GatewayContext): void {
  if (ctx.config.upstream.mode !== 'forward-auth') return;
  const routes = compileRoutes(ctx.config.routes);
  const trusted = compileTrustedProxies(ctx.config.trustedProxies);
  const names = ctx.config.forwarding.headerNames;

  const decide = async (req: Request): Promise<ForwardAuthDecision> => {
    const client = resolveClient(req.socket.remoteAddress, req.headers, trusted);
    const originalUri = client.originalUri ?? '/';
    const rawMethod = client.trusted ? (single(req.headers['x-original-method']) ?? single(req.headers['x-forwarded-method'])) : undefined;
    const method = rawMethod && METHOD.test(rawMethod) ? rawMethod : 'GET';
    const deny = (code: string): ForwardAuthDecision => ({ status: 403, code, headers: {}, originalUri });
    const norm = normalizeRequestPath(originalUri);
    if (!norm.ok) return deny('path_invalid');
    const rule = routes.match(norm.path, method);
    if (rule?.public) return { status: 200, code: 'public', headers: {}, originalUri };
    let auth;
    try {
      auth = await ctx.authenticator.authenticate(req);
    } catch (e) {
      const ge = e instanceof GatewayError ? e : null;
      if (ge?.status === 403) return deny(ge.code);
      if (!ge || ge.status >= 500) ctx.logger.error('forward-auth check failed', { code: ge?.code, cause: ge?.cause ?? e });
      return { status: 401, code: ge && ge.status < 500 ? ge.code : 'unauthenticated', headers: {}, originalUri };
    }
    const decision = authorize(rule, auth ? auth.identity : null);
    if (decision === 'login' || !auth) return { status: 401, code: 'unauthenticated', headers: {}, originalUri };
    if (decision === 'deny') return deny('route_forbidden');
    const assertion = await ctx.assertion.assertionFor(auth.identity);
    return { status: 200, code: 'ok', headers: buildIdentityHeaders(auth.identity, names, assertion), originalUri };
  };

  router.get('/auth', (req: Request, res: Response) => {
    decide(req)
      .catch((e: unknown): ForwardAuthDecision => {
        ctx.logger.error('forward-auth check failed', { cause: e });
        return { status: 401, code: 'internal_error', headers: {}, originalUri: '/' };
      })
      .then((d) => send(ctx, req, res, d));
  });
  router.head('/auth', (_req, res) => {
    res.status(401).setHeader('WWW-Authenticate', 'Bearer');
    res.end();
  });
}

function send(ctx: GatewayContext, req: Request, res: Response, d: ForwardAuthDecision): void {
  if (res.headersSent) return;
  res.setHeader('Cache-Control', 'no-store');
  for (const [k, v] of Object.entries(d.headers)) res.setHeader(k, v);
  if (d.status === 200) {
    res.status(200).end();
    return;
  }
  const login = `${ctx.config.basePath}/login?return_to=${encodeURIComponent(d.originalUri)}`;
  if (d.status === 401) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    // For the proxy's sign-in redirect (nginx: auth_request_set + error_page 401; see docs/deployment.md#forward-auth-behind-nginx-or-traefik).
    res.setHeader('X-Claimgate-Login', login);
  }
  const message =
    d.status === 401 ? 'Sign in first, or send a bearer token.' : d.code === 'path_invalid' ? 'The request path is not acceptable.' : 'You may not open this page.';
  if (wantsHtml(req)) {
    const link = d.status === 401 ? `<p><a href="${escapeHtml(login)}">Sign in</a></p>` : '';
    const title = d.status === 401 ? 'Sign-in required' : 'Access denied';
    res.status(d.status).type('html').send(htmlPage(title, `<h1>${title}</h1><p>${escapeHtml(message)}</p>${link}<p><small>Error code: <code>${escapeHtml(d.code)}</code></small></p>`));
    return;
  }
  res
    .status(d.status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: `urn:claimgate:error:${d.code}`, title: d.status === 401 ? 'Sign-in required' : 'Access denied', status: d.status, detail: message, code: d.code }));
}

function single(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v.toUpperCase() : undefined;
}
