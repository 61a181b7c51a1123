import * as oidc from 'openid-client';
import type { GatewayContext } from '../../app/gateway-context.js';
import { GatewayError } from '../../core/errors/errors.js';
import type { Claims } from '../../core/mapping/types.js';
import type { Session, SessionData } from '../../core/sessions/session.js';
import { mergeUserinfo } from './claims.js';
import { providerFailure } from './errors.js';
import { oidcRuntime } from './runtime.js';

/** What one refresh of a session came to. `code` and `reason` are stable codes, safe to log. */
export type RefreshOutcome =
  | { outcome: 'remapped'; changed: boolean }
  /** The provider or the mapping no longer lets this user in: the caller ends the session. */
  | { outcome: 'refused'; reason: string }
  /** A passing failure (provider down, a broken answer): the session stays, the next interval tries again. */
  | { outcome: 'failed'; code: string };

const OAUTH_ERROR = /^[a-z_]{1,64}$/;

/**
 * One re-mapping of a session from its refresh token: the refresh token grant at the provider, the rotated
 * refresh token stored at once (the old one is spent), the new ID token verified through the trust map like a
 * sign-in's (merged with userinfo when configured; userinfo alone when the provider sends no ID token on refresh,
 * which OpenID Connect Core section 12.2 allows), then the same mapping and user sync as a sign-in, so role changes at the IdP
 * reach the session. `data` is the session's data as the claim read it from the database.
 *
 * Refusals: `invalid_grant` (the user logged out, was disabled or the grant was revoked at the IdP), a mapping
 * or lifecycle refusal (403), or claims that now map to another user than the session's.
 */
export async function refreshSession(ctx: GatewayContext, session: Session, data: SessionData): Promise<RefreshOutcome> {
  const rt = oidcRuntime(ctx);
  const issuer = rt.clients.issuer(session.issuerId ?? '');
  const refreshToken = data.refreshToken;
  if (!refreshToken) return { outcome: 'failed', code: 'no_refresh_token' };
  try {
    const config = await rt.clients.get(issuer.id);
    let tokens: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
    try {
      tokens = await oidc.refreshTokenGrant(config, refreshToken);
    } catch (e) {
      if (e instanceof oidc.ResponseBodyError && e.error === 'invalid_grant') return { outcome: 'refused', reason: 'invalid_grant' };
      if (e instanceof oidc.ResponseBodyError) return { outcome: 'failed', code: OAUTH_ERROR.test(e.error) ? `oauth_${e.error}` : 'oauth_error' };
      throw e;
    }
    const patch: Partial<SessionData> = { refreshToken: tokens.refresh_token ?? refreshToken };
    let claims: Claims;
    if (tokens.id_token) {
      const verified = await ctx.trustMap.verify(tokens.id_token, { purpose: 'oidc', issuerId: issuer.id });
      claims = { ...(verified.claims as Claims) };
      await ctx.login.recordIdToken(issuer, { claims, tokenHash: verified.tokenHash });
      if (issuer.oidc.userinfo === 'merge') claims = mergeUserinfo(claims, await userinfo(config, tokens.access_token, claims.sub as string));
      if (data.idTokenHint) patch.idTokenHint = tokens.id_token;
    } else {
      // Whose userinfo this is gets checked below: it must map to the session's own user.
      claims = await userinfo(config, tokens.access_token, oidc.skipSubjectCheck);
    }
    await ctx.sessions.mergeData(session.idHash, patch);
    const result = await ctx.login.loginWithClaims(issuer, claims, 'oidc');
    if (result.user.id !== session.userId) return { outcome: 'refused', reason: 'identity_changed' };
    return { outcome: 'remapped', changed: result.changed };
  } catch (e) {
    if (e instanceof GatewayError && e.status === 403) return { outcome: 'refused', reason: e.code };
    if (e instanceof GatewayError) return { outcome: 'failed', code: e.code };
    return { outcome: 'failed', code: providerFailure(e, 'token').code };
  }
}

async function userinfo(config: oidc.Configuration, accessToken: string, sub: string | typeof oidc.skipSubjectCheck): Promise<Claims> {
  try {
    return (await oidc.fetchUserInfo(config, accessToken, sub)) as Claims;
  } catch (e) {
    throw providerFailure(e, 'userinfo');
  }
}
