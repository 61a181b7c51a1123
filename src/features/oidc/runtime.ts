import type { Config } from '../../core/config/schema.js';
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

/** Gateway-owned URL for a path under basePath. */
export function gatewayUrl(config: Pick<Config, 'publicUrl' | 'basePath'>, path: string): string {
  return `${config.publicUrl.replace(/\/+$/, '')}${config.basePath}${path}`;
}

/**
 * The OIDC runtime of a gateway (one per OIDC feature: the routes, the logout and the session refresh share it, so
 * one discovery cache serves them all).
 */
export function createOidcRuntime(config: Pick<Config, 'issuers' | 'publicUrl' | 'basePath' | 'session'>, opts: { now: () => number; fetch?: typeof fetch }): OidcRuntime {
  const redirectUri = gatewayUrl(config, '/callback');
  return {
    clients: new OidcClients(config.issuers, { redirectUri, now: opts.now, fetch: opts.fetch }),
    transactions: new TransactionCookie(config.session.secret, {
      baseName: config.session.cookieName,
      path: `${config.basePath}/callback`,
      loginPath: `${config.basePath}/login`,
      secure: new URL(config.publicUrl).protocol === 'https:',
      now: opts.now,
    }),
    redirectUri,
    postLogoutRedirectUri: gatewayUrl(config, '/signed-out'),
    backchannelLogoutUri: gatewayUrl(config, '/backchannel-logout'),
  };
}
