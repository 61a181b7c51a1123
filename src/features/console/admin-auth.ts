import type { IncomingMessage } from 'node:http';
import type { Config } from '../../core/config/schema.js';
import { grants, type ApiPrincipal, type Scope } from '../../core/credentials/index.js';
import { GatewayError } from '../../core/errors/errors.js';
import type { GatewayContext } from '../../app/gateway-context.js';
import type { AuthContext } from '../../core/sessions/authenticator.js';
import { checkCsrf } from './csrf.js';

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
export function consoleScopes(config: Config, roles: readonly string[]): Scope[] {
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
export async function requireAdmin(ctx: GatewayContext, req: IncomingMessage, scope: Scope): Promise<AdminCaller> {
  const session = await consoleSession(ctx, req);
  if (!session) {
    const principal = await ctx.credentials.auth.require(req, scope);
    return { actor: `admin:${principal.credential.name}`, principal, userId: null };
  }
  if (STATE_CHANGING.has(req.method ?? 'GET')) {
    checkCsrf(req, { publicUrl: ctx.config.publicUrl, secrets: ctx.config.session.secret, sessionIdHash: session.session!.idHash });
  }
  const scopes = consoleScopes(ctx.config, session.identity.roles);
  if (!grants(scopes, scope)) {
    throw new GatewayError('insufficient_scope', `Your roles do not give the "${scope}" permission of the console.`);
  }
  return { actor: `user:${session.identity.usercode}`, principal: null, userId: session.identity.userId };
}

/** The session of a cookie-only request when the console is on; null for anything else. */
export async function consoleSession(ctx: GatewayContext, req: IncomingMessage): Promise<AuthContext | null> {
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
