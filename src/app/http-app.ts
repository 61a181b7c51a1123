import express, { type NextFunction, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import type { Config } from '../core/config/schema.js';
import type { Logger } from '../observability/logger.js';
import { GatewayError } from '../core/errors/errors.js';
import { sendError, toGatewayError, wantsHtml } from '../web/problem.js';
import { namesUser, type PageNav } from '../web/page-nav.js';
import { logRefusal } from '../observability/refusal-log.js';
import { REQUEST_LOG_PATHS, requestLog } from '../observability/request-log.js';
import { exceptionLog, noteRequestError } from '../observability/exception-log.js';
import { routeTemplate } from '../observability/route-template.js';
import { resolveClient } from '../web/client-ip.js';
import { gatewayResponseHeaders } from '../web/security-headers.js';
import { bodyDeadline } from '../web/body-deadline.js';
import type { Feature } from '../web/feature.js';
import { principalOf } from '../web/request-scope.js';

export { wrap } from '../web/wrap.js';

/** What the router assembly itself uses (each feature brings its own dependencies). */
export interface GatewayAppDeps {
  config: Pick<Config, 'basePath' | 'limits' | 'trustedProxies' | 'logs'>;
  logger: Logger;
  /** Where the request and exception logs are written. */
  knex: Knex;
  /** The account footer of error pages. */
  pageNav: PageNav;
}

/**
 * The Express app for the gateway's own routes under basePath: the request and exception logs, then each
 * feature's routes in order, then the not-found and error answers. Thin: parse, call the core, render.
 * Everything else (the app's paths) never enters Express: see features/proxy/dispatch.ts.
 */
export function buildGatewayApp(deps: GatewayAppDeps, features: Feature[]): express.Express {
  const { config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'extended');
  app.use(gatewayResponseHeaders);
  app.use(bodyDeadline(config.limits.gatewayBodyTimeoutSeconds * 1000));
  const r = express.Router({ caseSensitive: true, strict: false });

  const clientIp = (req: Request) => resolveClient(req.socket.remoteAddress, req.headers, config.trustedProxies).ip;
  // Every route, whichever router answers it: an unhandled error leaves an exception row.
  r.use(
    exceptionLog({
      knex: deps.knex,
      logger,
      basePath: config.basePath,
      prefixes: REQUEST_LOG_PATHS,
      clientIp,
      clientIpMode: config.logs.clientIp,
    }),
  );
  // The request log: API, SCIM, token and event calls only (never /sso, never the proxied app traffic).
  r.use(
    REQUEST_LOG_PATHS,
    requestLog({
      knex: deps.knex,
      logger,
      basePath: config.basePath,
      clientIp,
      clientIpMode: config.logs.clientIp,
      principalOf,
    }),
  );
  for (const f of features) f.routes?.(r);

  app.use(config.basePath, r);
  app.use((_req: Request, _res: Response, next: NextFunction) => {
    next(new GatewayError('not_found', 'There is nothing here.'));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const ge = toGatewayError(err);
    noteRequestError(res, err);
    const route = routeTemplate(req, config.basePath, REQUEST_LOG_PATHS);
    if (ge.status >= 500) logger.error('request failed', { route, code: ge.code, cause: ge.cause ?? err });
    else if (ge.code !== 'not_found') logRefusal(logger, { code: ge.code, status: ge.status, route, err });
    if (!wantsHtml(req) || !namesUser(ge.status)) return sendError(req, res, ge);
    void deps.pageNav(req).then(
      (nav) => sendError(req, res, ge, {}, { nav }),
      () => sendError(req, res, ge),
    );
  });
  return app;
}
