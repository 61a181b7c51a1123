import type { Request, Response } from 'express';
import { GatewayError } from '../../core/errors/errors.js';
import type { GatewayContext } from '../../app/gateway-context.js';
import { safeReturnTo } from '../../web/return-to.js';
import { endSession } from '../../web/sign-in.js';
import { escapeHtml, htmlPage, wantsHtml } from '../../web/problem.js';
import { userToJson } from '../../store/users/index.js';
import { SessionCookie } from '../../core/sessions/cookie.js';
import { providerLogoutUrl } from '../oidc/provider-logout.js';
import { prefersHtmlPage, renderMePage } from './me-page.js';
import { consoleFields } from '../console/me-fields.js';

/** `GET /claimgate/me`: who the gateway thinks the caller is. */
export function meHandler(ctx: GatewayContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const auth = await ctx.authenticator.authenticate(req);
    if (!auth) throw new GatewayError('unauthenticated', 'Sign in first.');
    const user = await ctx.users.getById(auth.identity.userId);
    if (!user) throw new GatewayError('unauthenticated', 'Sign in first.');
    res.setHeader('Cache-Control', 'no-store');
    if (prefersHtmlPage(req.headers.accept)) {
      res.type('html').send(renderMePage(user, auth.session, ctx.config.basePath));
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
      ...consoleFields(ctx, auth),
    });
  };
}

/** `GET /claimgate/logout`: a confirm page (a GET must not end a session: link prefetchers would). */
export function logoutPageHandler(ctx: GatewayContext) {
  return (req: Request, res: Response): void => {
    const returnTo = typeof req.query.return_to === 'string' ? req.query.return_to : '';
    const action = `${ctx.config.basePath}/logout`;
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
export function logoutHandler(ctx: GatewayContext) {
  return async (req: Request, res: Response): Promise<void> => {
    checkSameOrigin(ctx, req);
    const id = ctx.cookie.read(req.headers.cookie);
    // Read before it ends: an OIDC session may also end the provider's session (RP-initiated logout).
    const session = id ? await ctx.sessions.getByHash(SessionCookie.hashId(id)) : null;
    if (id) {
      const userId = await endSession(ctx, id);
      if (userId) ctx.logger.info('sign-out', { userId });
    }
    res.setHeader('Set-Cookie', ctx.cookie.clear());
    res.setHeader('Cache-Control', 'no-store');
    // Only a browser can follow the provider's logout pages; an API client gets the plain local logout.
    const atProvider = wantsHtml(req) ? await providerLogoutUrl(ctx, session) : null;
    if (atProvider) {
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.redirect(303, atProvider);
      return;
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const raw = body.return_to ?? req.query.return_to;
    if (typeof raw === 'string' && raw !== '') {
      res.redirect(303, safeReturnTo(raw, { publicUrl: ctx.config.publicUrl, allowedOrigins: ctx.config.returnTo.allowedOrigins, basePath: ctx.config.basePath }));
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
export function checkSameOrigin(ctx: GatewayContext, req: Request): void {
  const origin = req.headers.origin ?? refererOrigin(req.headers.referer);
  if (origin === undefined || origin === 'null' && req.headers.cookie === undefined) return;
  const own = new URL(ctx.config.publicUrl).origin;
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
