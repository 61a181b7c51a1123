import type { Request, Response, Router } from 'express';
import type { Config } from '../../core/config/schema.js';
import type { AuthContext, Authenticator } from '../../core/sessions/authenticator.js';
import type { Session } from '../../core/sessions/session.js';
import type { SessionStore } from '../../store/sessions.js';
import { GatewayError } from '../../core/errors/errors.js';
import { safeReturnTo } from '../../web/return-to.js';
import type { SignIn } from '../../web/sign-in.js';
import { escapeHtml, htmlPage, wantsHtml } from '../../web/problem.js';
import { userToJson, type UserStore } from '../../store/users/index.js';
import { SessionCookie } from '../../core/sessions/cookie.js';
import type { Logger } from '../../observability/logger.js';
import type { Feature } from '../../web/feature.js';
import { bodyParsers } from '../../web/body-parsers.js';
import { wrap } from '../../web/wrap.js';
import { prefersHtmlPage, renderMePage } from './me-page.js';

/** What `/me` and `/logout` use. */
export interface SessionDeps {
  config: Pick<Config, 'basePath' | 'publicUrl' | 'returnTo' | 'limits'>;
  authenticator: Pick<Authenticator, 'authenticate'>;
  users: Pick<UserStore, 'getById'>;
  cookie: Pick<SessionCookie, 'read' | 'clear'>;
  sessions: Pick<SessionStore, 'getByHash'>;
  signIn: Pick<SignIn, 'end'>;
  logger: Logger;
  /** RP-initiated logout: the provider's logout URL for a session that signed in through OIDC (null: none). */
  providerLogoutUrl?: (session: Session | null) => Promise<string | null>;
  /** Fields other capabilities add to `/me`'s JSON (the console's scopes and CSRF token). */
  meFields?: (auth: AuthContext) => Record<string, unknown>;
}

/** `GET /me`, `GET /logout` (the confirm page) and `POST /logout`. */
export function createSession(deps: SessionDeps): Feature {
  return {
    routes(r: Router) {
      const { form, json } = bodyParsers(deps.config.limits.bodyBytes);
      r.get('/me', wrap(meHandler(deps)));
      r.get('/logout', logoutPageHandler(deps));
      r.post('/logout', form, json, wrap(logoutHandler(deps)));
    },
  };
}

/** `GET /claimgate/me`: who the gateway thinks the caller is. */
function meHandler(deps: SessionDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const auth = await deps.authenticator.authenticate(req);
    if (!auth) throw new GatewayError('unauthenticated', 'Sign in first.');
    const user = await deps.users.getById(auth.identity.userId);
    if (!user) throw new GatewayError('unauthenticated', 'Sign in first.');
    res.setHeader('Cache-Control', 'no-store');
    if (prefersHtmlPage(req.headers.accept)) {
      res.type('html').send(renderMePage(user, auth.session, deps.config.basePath));
      return;
    }
    res.json({
      user: userToJson(user),
      roles: auth.identity.roles,
      permissions: auth.identity.permissions,
      attributes: auth.identity.attributes,
      session: auth.session
        ? { expiresAt: new Date(Math.min(auth.session.idleExpiresAt, auth.session.absoluteExpiresAt)).toISOString() }
        : null,
      ...deps.meFields?.(auth),
    });
  };
}

/** `GET /claimgate/logout`: a confirm page (a GET must not end a session: link prefetchers would). */
function logoutPageHandler(deps: SessionDeps) {
  return (req: Request, res: Response): void => {
    const returnTo = typeof req.query.return_to === 'string' ? req.query.return_to : '';
    const action = `${deps.config.basePath}/logout`;
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      htmlPage(
        'Sign out',
        `<h1>Sign out?</h1><form method="post" action="${escapeHtml(action)}" aria-label="Sign out"><input type="hidden" name="return_to" value="${escapeHtml(returnTo)}"><button type="submit">Sign out</button></form>`,
      ),
    );
  };
}

/** `POST /claimgate/logout`: ends the session on the server, on every instance, and clears the cookie. */
function logoutHandler(deps: SessionDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    checkSameOrigin(deps, req);
    const id = deps.cookie.read(req.headers.cookie);
    // Read before it ends: an OIDC session may also end the provider's session (RP-initiated logout).
    const session = id ? await deps.sessions.getByHash(SessionCookie.hashId(id)) : null;
    if (id) {
      const userId = await deps.signIn.end(id);
      if (userId) deps.logger.info('sign-out', { userId });
    }
    res.setHeader('Set-Cookie', deps.cookie.clear());
    res.setHeader('Cache-Control', 'no-store');
    // Only a browser can follow the provider's logout pages; an API client gets the plain local logout.
    const atProvider = wantsHtml(req) ? await (deps.providerLogoutUrl?.(session) ?? null) : null;
    if (atProvider) {
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.redirect(303, atProvider);
      return;
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const raw = body.return_to ?? req.query.return_to;
    if (typeof raw === 'string' && raw !== '') {
      res.redirect(303, safeReturnTo(raw, { publicUrl: deps.config.publicUrl, allowedOrigins: deps.config.returnTo.allowedOrigins, basePath: deps.config.basePath }));
      return;
    }
    if (wantsHtml(req)) {
      res.type('html').send(htmlPage('Signed out', '<h1>You are signed out</h1><p><a href="/">Sign in again</a></p>'));
      return;
    }
    res.status(204).end();
  };
}

/**
 * CSRF defence for state-changing browser forms: a request that says where it came from must come from
 * the gateway's own origin (the session cookie's SameSite is the first line, this the second).
 */
export function checkSameOrigin(deps: { config: Pick<Config, 'publicUrl'> }, req: Request): void {
  const origin = req.headers.origin ?? refererOrigin(req.headers.referer);
  if (origin === undefined || origin === 'null' && req.headers.cookie === undefined) return;
  const own = new URL(deps.config.publicUrl).origin;
  if (origin !== own) throw new GatewayError('csrf_rejected', 'This form was sent from another site.');
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return 'null';
  }
}
