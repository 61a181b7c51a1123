import express, { type Request, type Response, type Router } from 'express';
import type { Session } from '../../core/sessions/session.js';
import { safeReturnTo } from '../../web/return-to.js';
import { wrap } from '../../web/wrap.js';
import { htmlPage, escapeHtml, sendError, wantsHtml } from '../../web/problem.js';
import { namesUser } from '../../web/page-nav.js';
import type { Feature } from '../../web/feature.js';
import { backchannelLogout } from './backchannel-logout.js';
import { completeCodeFlow, startCodeFlow } from './code-flow.js';
import type { OidcDeps, OidcEnv } from './deps.js';
import { createOidcRuntime } from './runtime.js';
import { providerLogoutUrl } from './provider-logout.js';
import { RefreshScheduler } from './refresh-scheduler.js';

/** The redirect login of a gateway, and what other parts of the gateway call of it. */
export interface OidcFeature extends Feature {
  /**
   * Starts the redirect login at an issuer (`return_to` from the query). `GET /login` is the login page's (see
   * features/session/login-page.ts), which calls this for an OIDC issuer.
   */
  startLogin(req: Request, res: Response, issuerId: string): Promise<void>;
  /** RP-initiated logout: the provider's logout URL for a session that signed in through OIDC (null: none). */
  providerLogoutUrl(session: Session | null): Promise<string | null>;
}

/**
 * The redirect login (docs/http-interface.md#redirect-login-openid-connect): `GET|POST /callback`, `POST
 * /backchannel-logout`, and `GET /signed-out` where the provider sends the browser after RP-initiated logout; the
 * start of the login for the login page; the provider's logout URL for `/logout`; and, once started, the periodic
 * re-mapping of OIDC sessions from their refresh tokens. The OIDC runtime (clients, discovery cache, transaction
 * cookie) lives in the returned object.
 */
export function createOidc(deps: OidcDeps): OidcFeature {
  const env: OidcEnv = { ...deps, rt: createOidcRuntime(deps.config, { now: deps.now, fetch: deps.fetch }) };
  const refresher = new RefreshScheduler(env);
  const returnToOptions = {
    publicUrl: deps.config.publicUrl,
    allowedOrigins: deps.config.returnTo.allowedOrigins,
    basePath: deps.config.basePath,
  };
  const startLogin = async (req: Request, res: Response, issuerId: string): Promise<void> => {
    const returnTo = safeReturnTo(req.query.return_to, returnToOptions);
    const { location, setCookie } = await startCodeFlow(env, issuerId, returnTo, req.headers.cookie);
    res.append('Set-Cookie', setCookie);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.redirect(302, location);
  };
  return {
    startLogin,
    providerLogoutUrl: (session) => providerLogoutUrl(env, session),
    routes: (router) => oidcRoutes(router, env),
    start() {
      if (refresher.enabled) deps.authenticator.observeSessions((s) => refresher.observe(s));
    },
    async close() {
      if (refresher.enabled) deps.authenticator.observeSessions(null);
      await refresher.close();
    },
  };
}

function oidcRoutes(router: Router, env: OidcEnv): void {
  const form = express.urlencoded({ extended: false, limit: env.config.limits.bodyBytes, parameterLimit: 50 });

  const callback = async (req: Request, res: Response): Promise<void> => {
    res.setHeader('Cache-Control', 'no-store');
    // The code and state are in this URL; nothing on the next page may leak them onwards.
    res.setHeader('Referrer-Policy', 'no-referrer');
    const method = req.method === 'POST' ? 'POST' : 'GET';
    const params = (method === 'POST' ? req.body : req.query) as Record<string, unknown>;
    const outcome = await completeCodeFlow(env, { method, params: params ?? {}, cookieHeader: req.headers.cookie });
    if (outcome.clearCookie) res.append('Set-Cookie', outcome.clearCookie);
    if (outcome.error) {
      const e = outcome.error;
      env.logger.info('oidc callback refused', { code: e.code, status: e.status });
      sendError(req, res, e, {}, wantsHtml(req) && namesUser(e.status) ? { nav: await env.pageNav(req).catch(() => undefined) } : {});
      return;
    }
    const { result, session, returnTo } = outcome.login!;
    await env.signIn.start(req, res, result, session, returnTo);
  };

  router.get('/callback', wrap(callback));
  router.post('/callback', form, wrap(callback));

  router.post(
    '/backchannel-logout',
    form,
    wrap(async (req, res) => {
      res.setHeader('Cache-Control', 'no-store');
      const body = (req.body ?? {}) as Record<string, unknown>;
      await backchannelLogout(env, body.logout_token);
      res.status(200).end();
    }),
  );

  router.get('/signed-out', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res
      .type('html')
      .send(htmlPage('Signed out', `<h1>You are signed out</h1><p><a href="${escapeHtml(`${env.config.basePath}/login`)}">Sign in again</a></p>`));
  });
}
