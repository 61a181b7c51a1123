import type { GatewayContext } from '../../app/gateway-context.js';
import type { AuthContext } from '../../core/sessions/authenticator.js';
import { consoleScopes } from './admin-auth.js';
import { csrfTokenFor } from './csrf.js';

/**
 * What `/me` adds when the console is on: the admin scopes the user's roles give, and for a session the CSRF token
 * the console echoes on every change (only a page of the gateway's own origin can read it).
 */
export function consoleFields(ctx: GatewayContext, auth: AuthContext): { adminScopes?: string[]; csrfToken?: string } {
  if (!ctx.config.console.enabled) return {};
  // Only the session cookie carries console rights; a bearer token of the same person does not.
  if (auth.via !== 'session' || !auth.session) return { adminScopes: [] };
  const adminScopes = consoleScopes(ctx.config, auth.identity.roles);
  return { adminScopes, csrfToken: csrfTokenFor(ctx.config.session.secret, auth.session.idHash) };
}
