import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { GatewayContext } from './gateway-context.js';
import { GatewayError } from '../core/errors/errors.js';
import { sendError, toGatewayError, wantsHtml } from '../web/problem.js';
import { namesUser, pageNav } from '../web/page-nav.js';
import { logRefusal } from '../observability/refusal-log.js';
import { ssoHandler } from '../features/sso/routes.js';
import { SsoSwitch } from '../web/sso-switch.js';
import { logoutHandler, logoutPageHandler, meHandler } from '../features/session/routes.js';
import { jwksHandler, liveHandler, readyHandler } from '../features/meta/routes.js';
import { loginPageHandler } from '../features/session/login-page.js';
import { tokenHandler, tokenRateLimit } from '../features/api-token/routes.js';
import { REQUEST_LOG_PATHS, requestLog } from '../observability/request-log.js';
import { exceptionLog, noteRequestError } from '../observability/exception-log.js';
import { routeTemplate } from '../observability/route-template.js';
import { resolveClient } from '../web/client-ip.js';
import type { LimitName } from '../web/rate-limit.js';
import { gatewayResponseHeaders } from '../web/security-headers.js';
import { bodyDeadline } from '../web/body-deadline.js';
import { principalOf } from '../web/request-scope.js';

/** Extra route groups (OIDC, admin, SCIM, events…) mount themselves through this hook. */
export type RouteModule = (router: Router, ctx: GatewayContext) => void;

/**
 * The Express app for the gateway's own routes under basePath. Thin: parse, call the core, render.
 * Everything else (the app's paths) never enters Express: see dispatch.ts.
 */
export function buildGatewayApp(ctx: GatewayContext, modules: RouteModule[] = []): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'extended');
  app.use(gatewayResponseHeaders);
  app.use(bodyDeadline(ctx.config.limits.gatewayBodyTimeoutSeconds * 1000));
  const limit = ctx.config.limits.bodyBytes;
  const r = express.Router({ caseSensitive: true, strict: false });
  const form = express.urlencoded({ extended: false, limit, parameterLimit: 100 });
  const json = express.json({ limit, type: ['application/json', 'application/*+json'] });
  /** Counts a request against a limit before its body is read (a refused client does not get to send it). */
  const countFirst = (name: LimitName) => (req: Request, res: Response, next: NextFunction) => {
    // Refused, the body stays unread and the connection cannot be reused.
    if (ctx.rateLimits.retryAfter(name, req) > 0 && !req.complete) res.setHeader('Connection', 'close');
    ctx.rateLimits.check(name, req);
    next();
  };

  const clientIp = (req: Request) => resolveClient(req.socket.remoteAddress, req.headers, ctx.config.trustedProxies).ip;
  // Every route, whichever router answers it: an unhandled error leaves an exception row.
  r.use(
    exceptionLog({
      knex: ctx.db.knex,
      logger: ctx.logger,
      basePath: ctx.config.basePath,
      prefixes: REQUEST_LOG_PATHS,
      clientIp,
      clientIpMode: ctx.config.logs.clientIp,
    }),
  );
  // The request log: API, SCIM, token and event calls only (never /sso, never the proxied app traffic).
  r.use(
    REQUEST_LOG_PATHS,
    requestLog({
      knex: ctx.db.knex,
      logger: ctx.logger,
      basePath: ctx.config.basePath,
      clientIp,
      clientIpMode: ctx.config.logs.clientIp,
      principalOf,
    }),
  );
  r.get('/sso', wrap(ssoHandler(ctx)));
  r.post('/sso', countFirst('sso'), form, json, wrap(ssoHandler(ctx)));
  r.post('/sso/confirm', form, wrap(new SsoSwitch(ctx).confirm));
  r.get('/me', wrap(meHandler(ctx)));
  r.get('/logout', logoutPageHandler(ctx));
  r.post('/logout', form, json, wrap(logoutHandler(ctx)));
  r.get('/jwks.json', jwksHandler(ctx));
  r.post('/oauth/token', tokenRateLimit(ctx), form, json, wrap(tokenHandler(ctx)));
  r.get('/health/live', liveHandler());
  r.get('/health/ready', wrap(readyHandler(ctx)));
  for (const m of modules) m(r, ctx);
  if (!modules.some((m) => m.name === 'oidcRoutes')) r.get('/login', wrap(loginPageHandler(ctx)));

  app.use(ctx.config.basePath, r);
  app.use((_req: Request, _res: Response, next: NextFunction) => {
    next(new GatewayError('not_found', 404, 'There is nothing here.'));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const ge = toGatewayError(err);
    noteRequestError(res, err);
    const route = routeTemplate(req, ctx.config.basePath, REQUEST_LOG_PATHS);
    if (ge.status >= 500) ctx.logger.error('request failed', { route, code: ge.code, cause: ge.cause ?? err });
    else if (ge.code !== 'not_found') logRefusal(ctx.logger, { code: ge.code, status: ge.status, route, err });
    if (!wantsHtml(req) || !namesUser(ge.status)) return sendError(req, res, ge);
    void pageNav(ctx, req).then(
      (nav) => sendError(req, res, ge, {}, { nav }),
      () => sendError(req, res, ge),
    );
  });
  return app;
}

/** Express 5 forwards rejected promises itself; this keeps handler signatures uniform and typed. */
export function wrap(fn: (req: Request, res: Response) => Promise<void> | void) {
  return (req: Request, res: Response, next: NextFunction): void => {
    Promise.resolve()
      .then(() => fn(req, res))
      .catch(next);
  };
}
