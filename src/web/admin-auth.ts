import type { IncomingMessage } from 'node:http';
import type { Config } from '../core/config/schema.js';
import { grants, type ApiAuthenticator, type ApiPrincipal, type Scope } from '../core/credentials/index.js';
import { GatewayError } from '../core/errors/errors.js';
import type { AuthContext, Authenticator } from '../core/sessions/authenticator.js';
import type { SessionCookie } from '../core/sessions/cookie.js';
import { checkCsrf, csrfTokenFor } from './csrf.js';
import { notePrincipal } from './request-scope.js';

/** What finding a console session needs: the console settings, the session cookie and the authenticator. */
export interface ConsoleSessionDeps {
  config: Pick<Config, 'console'>;
  cookie: Pick<SessionCookie, 'read'>;
  authenticator: Pick<Authenticator, 'fromSessionId'>;
}

/** What authorising an admin call needs: a console session, or an API credential. */
export interface AdminAuthDeps extends ConsoleSessionDeps {
  config: Pick<Config, 'console' | 'publicUrl' | 'session'>;
  credentials: { auth: Pick<ApiAuthenticator, 'require'> };
}

/** Who called the admin API: a credential, or a person signed in to the console. */
export interface AdminCaller {
  /** For the audit trail and mapping versions: `admin:<credential name>` or `user:<usercode>`. */
  actor: string;
  /** The credential, when the call carried one. */
  principal: ApiPrincipal | null;
  /** The signed-in user, when the call came with a console session. */
  userId: string | null;
}

/** The admin scopes a user's roles give in the console (none when the console is off). */
export function consoleScopes(config: Pick<Config, 'console'>, roles: readonly string[]): Scope[] {
  if (!config.console.enabled) return [];
  const has = (list: string[]) => list.some((r) => roles.includes(r));
  if (has(config.console.writeRoles)) return ['admin:read', 'admin:write'];
  if (has(config.console.readRoles)) return ['admin:read'];
  return [];
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Authorises an admin API call. A request with an Authorization header is a credential's, exactly as before. One
 * with only the session cookie is the console's: the user's roles give the scopes, and a change must pass the CSRF
 * check before anything runs.
 */
export async function requireAdmin(ctx: AdminAuthDeps, req: IncomingMessage, scope: Scope): Promise<AdminCaller> {
  const session = await consoleSession(ctx, req);
  if (!session) {
    const principal = await ctx.credentials.auth.require(req, scope);
    return { actor: `admin:${principal.credential.name}`, principal, userId: null };
  }
  notePrincipal(req, sessionPseudonym(session));
  if (STATE_CHANGING.has(req.method ?? 'GET')) {
    checkCsrf(req, { publicUrl: ctx.config.publicUrl, secrets: ctx.config.session.secret, sessionIdHash: session.session!.idHash });
  }
  const scopes = consoleScopes(ctx.config, session.identity.roles);
  if (!grants(scopes, scope)) {
    throw new GatewayError('insufficient_scope', 403, `Your roles do not give the "${scope}" permission of the console.`);
  }
  return { actor: `user:${session.identity.usercode}`, principal: null, userId: session.identity.userId };
}

/** The session of a cookie-only request when the console is on; null for anything else. */
export async function consoleSession(ctx: ConsoleSessionDeps, req: IncomingMessage): Promise<AuthContext | null> {
  if (!ctx.config.console.enabled || req.headers.authorization !== undefined) return null;
  const id = ctx.cookie.read(req.headers.cookie);
  if (id === null) return null;
  const auth = await ctx.authenticator.fromSessionId(id);
  return auth && auth.session ? auth : null;
}

/**
 * The request log's caller for a console call. Request-log rows hold no name, e-mail or usercode: the user's id (a
 * random ULID) stands in, and the audit trail (`GET …/audit?user=<id>`) says who it is.
 */
export function sessionPseudonym(auth: AuthContext): string {
  return `console:${auth.identity.userId}`;
}

/**
 * What `/me` adds when the console is on: the admin scopes the user's roles give, and for a session the CSRF token
 * the console echoes on every change (only a page of the gateway's own origin can read it).
 */
export function consoleFields(deps: { config: Pick<Config, 'console' | 'session'> }, auth: AuthContext): { adminScopes?: string[]; csrfToken?: string } {
  if (!deps.config.console.enabled) return {};
  // Only the session cookie carries console rights; a bearer token of the same person does not.
  if (auth.via !== 'session' || !auth.session) return { adminScopes: [] };
  const adminScopes = consoleScopes(deps.config, auth.identity.roles);
  return { adminScopes, csrfToken: csrfTokenFor(deps.config.session.secret, auth.session.idHash) };
}
