import type { Request, Response } from 'express';
import type { GatewayContext } from '../app/gateway-context.js';
import type { LoginResult } from '../core/login/login-service.js';
import type { SessionData } from '../core/sessions/session.js';
import { recordAudit } from '../store/audit-log.js';
import { SessionCookie } from '../core/sessions/cookie.js';
import { redirectTarget } from '../features/redirect/redirect-mode.js';

/**
 * Ends the sign-in of every method (SSO link, form post, OIDC callback): a NEW session (never the one the
 * browser came with: no fixation), the cookie, the audit line, and the 303 to where the user was going — in
 * `redirect` mode, to the app's own SSO URL with a freshly minted hand-off token instead (features/redirect/redirect-mode.ts).
 */
export async function startSession(
  ctx: GatewayContext,
  req: Request,
  res: Response,
  result: LoginResult,
  data: SessionData,
  target: string,
): Promise<void> {
  const previous = ctx.cookie.read(req.headers.cookie);
  if (previous) await endSession(ctx, previous);
  if (ctx.config.upstream.mode === 'redirect') {
    target = await redirectTarget(ctx, result.user, result.claims);
    // The hand-off token travels in the URL: it must not leak onwards through a Referer.
    res.setHeader('Referrer-Policy', 'no-referrer');
  }
  // The sign-in's login statement may have started the session already (and audited the login) with the user sync.
  let id = result.session?.id;
  if (id === undefined) {
    ({ id } = await ctx.tracing.span('claimgate.session', { 'claimgate.issuer': result.issuer.id }, () =>
      ctx.sessions.create(result.user.id, result.issuer.id, data),
    ));
    await recordAudit(ctx.db.knex, {
      type: 'login',
      userId: result.user.id,
      usercode: result.user.usercode,
      actor: `login:${result.issuer.id}`,
      source: `mapping:${result.issuer.id}`,
      detail: { issuer: result.issuer.id, created: result.created, changed: result.changed },
    });
  }
  ctx.logger.info('sign-in', { userId: result.user.id, issuer: result.issuer.id, created: result.created });
  // Appended: the OIDC callback has already queued the removal of its transaction cookie.
  res.append('Set-Cookie', ctx.cookie.serialize(id));
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(303, target);
}

/** Revokes a session by its opaque id and tells every process. */
export async function endSession(ctx: GatewayContext, id: string): Promise<string | null> {
  const idHash = SessionCookie.hashId(id);
  const userId = await ctx.sessions.revoke(idHash);
  await ctx.bus.publish({ kind: 'session', id: idHash });
  return userId;
}
