import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWSAlgorithm, type JWTPayload } from 'jose';
import type { IssuerConfig } from '../../core/config/schema.js';
import type { OidcEnv } from './deps.js';
import { GatewayError } from '../../core/errors/errors.js';
import { keySourceFor, type VerificationKey } from '../../core/tokens/key-sources.js';
import { recordAudit } from '../../store/audit-log.js';

/** OpenID Connect Back-Channel Logout 1.0, section 2.4: the `events` member that makes a JWT a logout token. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
export const LOGOUT_TOKEN_TYP = 'logout+jwt';

/** Logout tokens are meant to be delivered at once; an older one is refused (and its jti kept at least this long). */
const MAX_AGE_SECONDS = 300;

const keySources = new WeakMap<IssuerConfig, VerificationKey>();

function refused(message: string, cause?: unknown): GatewayError {
  return new GatewayError('logout_token_invalid', message, { cause });
}

export interface LogoutOutcome {
  issuerId: string;
  /** Users whose sessions were ended. */
  userIds: string[];
  sessions: number;
}

/**
 * Validates a logout token (section 2.6 of that specification) and ends the sessions it names, on every instance.
 *
 * Checks: a compact JWS from a configured OIDC issuer; `typ` `logout+jwt` (section 2.4, which also keeps an ID token
 * or any other token of that issuer from being replayed here); the signature with the issuer's own keys and
 * algorithm allowlist; `iss`; `aud` containing our `client_id`; `iat` present, not in the future, at most 5 min
 * old; `exp` when present; `jti` present and single-use; the `events` claim holding the back-channel logout
 * member as a JSON object; `sid` or `sub` present; no `nonce` (section 2.6 step 7, so an ID token cannot pass).
 *
 * With `sid`: the sessions started by that provider session end. With only `sub`: every session of the user
 * bound to (iss, sub) ends. Sessions are revoked in the database and the invalidation bus tells every process.
 */
export async function backchannelLogout(env: OidcEnv, token: unknown): Promise<LogoutOutcome> {
  if (typeof token !== 'string' || token.length === 0) throw refused('The request carries no logout_token.');
  if (token.length > env.config.limits.tokenBytes) throw refused('The logout_token is too large.');
  let header: ReturnType<typeof decodeProtectedHeader>;
  let unverified: JWTPayload;
  try {
    if (token.split('.').length !== 3) throw new Error('not a compact JWS');
    header = decodeProtectedHeader(token);
    unverified = decodeJwt(token);
  } catch (e) {
    throw refused('The logout_token is not a JWT.', e);
  }
  if (header.typ?.toLowerCase() !== LOGOUT_TOKEN_TYP && header.typ?.toLowerCase() !== `application/${LOGOUT_TOKEN_TYP}`) {
    throw refused('The logout_token must have typ "logout+jwt".');
  }
  if (header.jku !== undefined || header.x5u !== undefined || header.jwk !== undefined || header.x5c !== undefined) {
    throw refused('The logout_token names its own keys, which are never trusted.');
  }
  const issuer = env.config.issuers.find((i) => i.oidc && i.issuer === unverified.iss);
  if (!issuer?.oidc) throw refused('The logout_token comes from an issuer without OIDC sign-in.');
  if (!issuer.algorithms.includes(header.alg as never)) throw refused('The logout_token signing algorithm is not allowed.');

  let key = keySources.get(issuer);
  if (!key) {
    key = keySourceFor(issuer);
    keySources.set(issuer, key);
  }
  const now = Math.floor(env.now() / 1000);
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, key, {
      algorithms: issuer.algorithms as JWSAlgorithm[],
      issuer: issuer.issuer,
      audience: issuer.oidc.clientId,
      requiredClaims: ['iat', 'jti', 'events'],
      maxTokenAge: MAX_AGE_SECONDS,
      clockTolerance: issuer.clockToleranceSeconds,
      currentDate: new Date(now * 1000),
    }));
  } catch (e) {
    if (e instanceof errors.JOSEError) throw refused(`The logout_token was refused (${e.code}).`, e);
    throw new GatewayError('jwks_unavailable', 'The issuer\'s keys cannot be fetched right now.', { cause: e });
  }
  if (typeof claims.iat === 'number' && claims.iat > now + issuer.clockToleranceSeconds) throw refused('The logout_token was issued in the future.');
  const events = claims.events as Record<string, unknown> | undefined;
  const event = events && typeof events === 'object' && !Array.isArray(events) ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined;
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw refused('The logout_token has no back-channel logout event.');
  }
  if ('nonce' in claims) throw refused('A logout_token must not carry a nonce.');
  const sid = typeof claims.sid === 'string' && claims.sid !== '' ? claims.sid : undefined;
  const sub = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : undefined;
  if (!sid && !sub) throw refused('The logout_token names neither a session (sid) nor a user (sub).');
  if (typeof claims.jti !== 'string' || claims.jti.length > 256) throw refused('The logout_token jti is malformed.');
  const keepUntil = new Date((Math.max(typeof claims.exp === 'number' ? claims.exp : 0, (claims.iat as number) + MAX_AGE_SECONDS) + issuer.clockToleranceSeconds + 60) * 1000);
  const jtiKey = `${issuer.id}#logout`;
  if (await env.jtis.isUsed(jtiKey, claims.jti)) throw refused('This logout_token was already used.');

  // The sessions end first and the jti is recorded after: if ending them fails, the provider's retry of the same
  // token must still work (ending sessions twice is harmless; a burnt jti with live sessions is not).
  let userIds: string[];
  let sessions = 0;
  if (sid) {
    userIds = await env.sessions.revokeBySid(issuer.id, sid);
    sessions = userIds.length;
  } else {
    const rows = (await env.knex('user_identities').where({ iss: issuer.issuer, sub }).select('user_id')) as { user_id: string }[];
    userIds = [...new Set(rows.map((r) => r.user_id))];
    for (const id of userIds) sessions += await env.sessions.revokeForUser(id);
  }
  // Every process drops its cached sessions of these users; the next request reads the revoked row.
  for (const id of userIds) await env.bus.publish({ kind: 'user', id });
  await env.jtis.consume(jtiKey, claims.jti, keepUntil);
  for (const id of userIds) {
    await recordAudit(env.knex, { type: 'logout', userId: id, source: `mapping:${issuer.id}`, detail: { issuer: issuer.id, via: 'backchannel', bySid: !!sid } });
  }
  env.logger.info('back-channel logout', { issuer: issuer.id, users: userIds.length, bySid: !!sid });
  return { issuerId: issuer.id, userIds, sessions };
}
