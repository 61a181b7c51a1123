import express, { type Request, type Response, type Router } from 'express';
import type { GatewayContext } from '../../app/gateway-context.js';
import { safeReturnTo } from '../../web/return-to.js';
import { wrap } from '../../app/http-app.js';
import { htmlPage, escapeHtml, sendError, wantsHtml } from '../../web/problem.js';
import { namesUser, pageNav } from '../../web/page-nav.js';
import { loginPageHandler } from '../session/login-page.js';
import { startSession } from '../../web/sign-in.js';
import { backchannelLogout } from './backchannel-logout.js';
import { completeCodeFlow, startCodeFlow } from './code-flow.js';

/**
 * The redirect login (docs/http-interface.md#redirect-login-openid-connect): `GET /login` (chooser or start), `GET|POST /callback`, `POST
 * /backchannel-logout`, and `GET /signed-out` where the provider sends the browser after RP-initiated logout.
 * Named `oidcRoutes`: app/http-app.ts then leaves `/login` to this module.
 */
export function oidcRoutes(router: Router, ctx: GatewayContext): void {
  const form = express.urlencoded({ extended: false, limit: ctx.config.limits.bodyBytes, parameterLimit: 50 });
  const returnToOptions = {
    publicUrl: ctx.config.publicUrl,
    allowedOrigins: ctx.config.returnTo.allowedOrigins,
    basePath: ctx.config.basePath,
  };

  const startOidc = async (req: Request, res: Response, issuerId: string): Promise<void> => {
    const returnTo = safeReturnTo(req.query.return_to, returnToOptions);
    const { location, setCookie } = await startCodeFlow(ctx, issuerId, returnTo, req.headers.cookie);
    res.append('Set-Cookie', setCookie);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.redirect(302, location);
  };

  const callback = async (req: Request, res: Response): Promise<void> => {
    res.setHeader('Cache-Control', 'no-store');
    // The code and state are in this URL; nothing on the next page may leak them onwards.
    res.setHeader('Referrer-Policy', 'no-referrer');
    const method = req.method === 'POST' ? 'POST' : 'GET';
    const params = (method === 'POST' ? req.body : req.query) as Record<string, unknown>;
    const outcome = await completeCodeFlow(ctx, { method, params: params ?? {}, cookieHeader: req.headers.cookie });
    if (outcome.clearCookie) res.append('Set-Cookie', outcome.clearCookie);
    if (outcome.error) {
      const e = outcome.error;
      ctx.logger.info('oidc callback refused', { code: e.code, status: e.status });
      sendError(req, res, e, {}, wantsHtml(req) && namesUser(e.status) ? { nav: await pageNav(ctx, req).catch(() => undefined) } : {});
      return;
    }
    const { result, session, returnTo } = outcome.login!;
    await startSession(ctx, req, res, result, session, returnTo);
  };

  router.get('/login', wrap(loginPageHandler(ctx, startOidc)));
  router.get('/callback', wrap(callback));
  router.post('/callback', form, wrap(callback));

  router.post(
    '/backchannel-logout',
    form,
    wrap(async (req, res) => {
      res.setHeader('Cache-Control', 'no-store');
      const body = (req.body ?? {}) as Record<string, unknown>;
      await backchannelLogout(ctx, body.logout_token);
      res.status(200).end();
    }),
  );

  router.get('/signed-out', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res
      .type('html')
      .send(htmlPage('Signed out', `<h1>You are signed out</h1><p><a href="${escapeHtml(`${ctx.config.basePath}/login`)}">Sign in again</a></p>`));
  });
}
