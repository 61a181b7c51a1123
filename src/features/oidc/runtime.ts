import type { GatewayContext } from '../../app/gateway-context.js';
import { OidcClients } from './clients.js';
import { TransactionCookie } from './transaction-cookie.js';

/** The OIDC parts of one gateway, built once from its configuration. */
export interface OidcRuntime {
  clients: OidcClients;
  transactions: TransactionCookie;
  /** `<publicUrl><basePath>/callback`: register it at the provider. */
  redirectUri: string;
  /** `<publicUrl><basePath>/signed-out`: the post-logout redirect URI to register at the provider. */
  postLogoutRedirectUri: string;
  /** `<publicUrl><basePath>/backchannel-logout`. */
  backchannelLogoutUri: string;
}

const runtimes = new WeakMap<GatewayContext, OidcRuntime>();

/** Gateway-owned URL for a path under basePath. */
export function gatewayUrl(ctx: GatewayContext, path: string): string {
  return `${ctx.config.publicUrl.replace(/\/+$/, '')}${ctx.config.basePath}${path}`;
}

/**
 * The OIDC runtime of a gateway, created on first use (the route module, the logout handler and the tests share
 * it, so one discovery cache serves them all).
 */
export function oidcRuntime(ctx: GatewayContext): OidcRuntime {
  let rt = runtimes.get(ctx);
  if (!rt) {
    const redirectUri = gatewayUrl(ctx, '/callback');
    rt = {
      clients: new OidcClients(ctx.config.issuers, { redirectUri, now: ctx.now, fetch: ctx.egressFetch }),
      transactions: new TransactionCookie(ctx.config.session.secret, {
        baseName: ctx.config.session.cookieName,
        path: `${ctx.config.basePath}/callback`,
        loginPath: `${ctx.config.basePath}/login`,
        secure: new URL(ctx.config.publicUrl).protocol === 'https:',
        now: ctx.now,
      }),
      redirectUri,
      postLogoutRedirectUri: gatewayUrl(ctx, '/signed-out'),
      backchannelLogoutUri: gatewayUrl(ctx, '/backchannel-logout'),
    };
    runtimes.set(ctx, rt);
  }
  return rt;
}
