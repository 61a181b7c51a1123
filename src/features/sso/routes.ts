import type { Request, Response } from 'express';
import { GatewayError } from '../../core/errors/errors.js';
import { requestToken } from '../../core/tokens/bearer.js';
import type { GatewayContext } from '../../app/gateway-context.js';
import { safeReturnTo } from '../../web/return-to.js';
import { startSession } from '../../web/sign-in.js';
import { SsoSwitch } from '../../web/sso-switch.js';

/**
 * `GET|POST /claimgate/sso`: an SSO link (`?jwt=`), a form post from an auth server (`jwt` field), a JSON
 * body, or `Authorization: Bearer`. The token travels in a URL, so the answer forbids any referrer and the
 * request log never holds it.
 */
export function ssoHandler(ctx: GatewayContext) {
  const signInSwitch = new SsoSwitch(ctx);
  return async (req: Request, res: Response): Promise<void> => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    ctx.rateLimits.check('sso', req);
    const token = extractToken(req);
    // Another user signed in here: ask before switching (login CSRF), see ../sso-switch.ts.
    if (await signInSwitch.intercept(req, res, token)) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const rawReturnTo = req.method === 'GET' ? req.query.return_to : (body.return_to ?? req.query.return_to);
    const target = safeReturnTo(rawReturnTo, {
      publicUrl: ctx.config.publicUrl,
      allowedOrigins: ctx.config.returnTo.allowedOrigins,
      basePath: ctx.config.basePath,
    });
    // The new session is written by the sign-in's own statement, with the user (redirect mode mints its hand-off
    // token first, so it starts the session afterwards).
    const session = ctx.config.upstream.mode === 'redirect' ? undefined : await ctx.tracing.span('claimgate.session', {}, async () => ctx.sessions.prepare({}));
    const result = await ctx.login.loginWithToken(token, 'sso', { session });
    await startSession(ctx, req, res, result, {}, target);
  };
}

/** `?jwt=`, a `jwt`/`token`/`id_token` form or JSON field (POST), or the Bearer header: exactly one of them. */
function extractToken(req: Request): string {
  const found = requestToken({
    authorization: req.headers.authorization,
    query: req.query,
    queryNames: ['jwt'],
    body: req.method === 'POST' ? req.body : undefined,
    bodyNames: ['jwt', 'token', 'id_token'],
  });
  if (!found) {
    throw new GatewayError('token_missing', 400, 'No sign-in token was given (expected a jwt parameter).');
  }
  return found.token;
}
