import * as oidc from 'openid-client';
import type { GatewayContext } from '../../app/gateway-context.js';
import type { Session } from '../../core/sessions/session.js';
import { oidcRuntime } from './runtime.js';

/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the provider's `end_session_endpoint` URL for
 * a session that signed in through OIDC, when the issuer has `endSessionAtProvider` and the provider
 * advertises the endpoint. `null` otherwise (or when the provider cannot be reached: the local logout has
 * already happened and must not fail because of it).
 */
export async function providerLogoutUrl(ctx: GatewayContext, session: Session | null): Promise<string | null> {
  if (!session?.issuerId || !session.data.idTokenHint) return null;
  const issuer = ctx.config.issuers.find((i) => i.id === session.issuerId);
  if (!issuer?.oidc?.endSessionAtProvider) return null;
  const rt = oidcRuntime(ctx);
  try {
    const config = await rt.clients.get(issuer.id);
    if (!config.serverMetadata().end_session_endpoint) return null;
    return oidc.buildEndSessionUrl(config, {
      id_token_hint: session.data.idTokenHint,
      post_logout_redirect_uri: rt.postLogoutRedirectUri,
    }).href;
  } catch (e) {
    ctx.logger.warn('provider logout skipped: the provider is unreachable', { issuer: issuer.id, code: (e as { code?: string }).code });
    return null;
  }
}
