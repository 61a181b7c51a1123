import type { Request, Response, Router } from 'express';
import type { Config } from '../../core/config/schema.js';
import type { LoginService } from '../../core/login/login-service.js';
import { GatewayError } from '../../core/errors/errors.js';
import { requestToken } from '../../core/tokens/bearer.js';
import { safeReturnTo } from '../../web/return-to.js';
import type { SignIn } from '../../web/sign-in.js';
import type { SessionStore } from '../../store/sessions.js';
import type { Tracing } from '../../observability/tracing.js';
import type { SsoSwitch } from '../../web/sso-switch.js';
import type { Feature } from '../../web/feature.js';
import { bodyParsers } from '../../web/body-parsers.js';
import { countFirst, type RateLimits } from '../../web/rate-limit.js';
import { wrap } from '../../web/wrap.js';

/** What the sign-in link routes use. */
export interface SsoDeps {
  config: Pick<Config, 'publicUrl' | 'returnTo' | 'basePath' | 'limits' | 'upstream'>;
  rateLimits: Pick<RateLimits, 'check' | 'retryAfter'>;
  login: Pick<LoginService, 'loginWithToken'>;
  signIn: Pick<SignIn, 'start'>;
  /** Prepares the session the sign-in's statement writes with the user. */
  sessions: Pick<SessionStore, 'prepare'>;
  tracing: Pick<Tracing, 'span'>;
  /** Asks before a link replaces another user's session (login CSRF), see web/sso-switch.ts. */
  signInSwitch: Pick<SsoSwitch, 'intercept' | 'confirm'>;
}

/** `/sso` (GET and POST) and `/sso/confirm`. */
export function createSso(deps: SsoDeps): Feature {
  return {
    routes(r: Router) {
      const { form, json } = bodyParsers(deps.config.limits.bodyBytes);
      const sso = wrap(ssoHandler(deps));
      r.get('/sso', sso);
      r.post('/sso', countFirst(deps.rateLimits, 'sso'), form, json, sso);
      r.post('/sso/confirm', form, wrap(deps.signInSwitch.confirm));
    },
  };
}

/**
 * `GET|POST /claimgate/sso`: an SSO link (`?jwt=`), a form post from an auth server (`jwt` field), a JSON
 * body, or `Authorization: Bearer`. The token travels in a URL, so the answer forbids any referrer and the
 * request log never holds it.
 */
function ssoHandler(deps: SsoDeps) {
  const { config, signInSwitch } = deps;
  return async (req: Request, res: Response): Promise<void> => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    deps.rateLimits.check('sso', req);
    const token = extractToken(req);
    // Another user signed in here: ask before switching (login CSRF), see ../sso-switch.ts.
    if (await signInSwitch.intercept(req, res, token)) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const rawReturnTo = req.method === 'GET' ? req.query.return_to : (body.return_to ?? req.query.return_to);
    const target = safeReturnTo(rawReturnTo, {
      publicUrl: config.publicUrl,
      allowedOrigins: config.returnTo.allowedOrigins,
      basePath: config.basePath,
    });
    // The new session is written by the sign-in's own statement, with the user (redirect mode mints its hand-off
    // token first, so it starts the session afterwards).
    const session = config.upstream.mode === 'redirect' ? undefined : await deps.tracing.span('claimgate.session', {}, async () => deps.sessions.prepare({}));
    const result = await deps.login.loginWithToken(token, 'sso', { session });
    await deps.signIn.start(req, res, result, {}, target);
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
    throw new GatewayError('token_missing', 'No sign-in token was given (expected a jwt parameter).');
  }
  return found.token;
}
