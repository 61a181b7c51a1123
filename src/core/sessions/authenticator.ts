import type { IncomingMessage } from 'node:http';
import { GatewayError, TokenError } from '../errors/errors.js';
import type { AuthState, Identity } from '../identity/identity.js';
import type { InvalidatedCache } from '../cache/invalidated-cache.js';
import type { InvalidationBus } from '../cache/invalidation.js';
import type { LoginService } from '../login/login-service.js';
import { bearerFromHeader } from '../tokens/bearer.js';
import { hashToken } from '../tokens/verify-cache.js';
import { SessionCookie } from './cookie.js';
import type { Session, SessionLiveness } from './session.js';

export type { AuthState };

export interface AuthContext {
  identity: Identity;
  via: 'session' | 'bearer';
  session?: Session;
}

/**
 * Answers "who is this request?" from a session cookie or a bearer JWT, on the hot path. Sessions and
 * user state come from caches that the invalidation bus keeps within 1 s (docs/how-it-works.md#how-changes-reach-every-process); a bearer token is
 * mapped and synced once, then remembered by its hash until it expires (or a mapping changes).
 */
export class Authenticator {
  /**
   * Bearer token hash -> the user it mapped to, until the token's expiry, with the mapping version used: a hit made
   * with an older version than the one in force is mapped again (a mapping change reaches this process as a
   * message first and as the new version a moment later; a request in between must not pin the old result).
   */
  private readonly bearerUsers = new Map<string, { userId: string; until: number; mapping: string; version: number | null }>();
  /** Hashes of tokens this process heard were used as sign-in links (see {@link consumed}). */
  private readonly usedAsLinks = new Set<string>();
  private readonly touchIntervalMs: number;
  private sessionObserver: ((s: Session) => void) | null = null;

  constructor(
    private readonly deps: {
      cookie: SessionCookie;
      sessions: SessionLiveness;
      sessionCache: InvalidatedCache<Session>;
      authStates: InvalidatedCache<AuthState>;
      login: LoginService;
      bus: InvalidationBus;
      idleTimeoutSeconds: number;
      now?: () => number;
      maxBearerEntries?: number;
    },
  ) {
    this.touchIntervalMs = Math.min(60_000, (deps.idleTimeoutSeconds * 1000) / 10);
    deps.bus.on((m) => {
      // A changed mapping must apply to the next request of every cached bearer token too.
      if (m.kind === 'mapping' || m.kind === 'all') this.bearerUsers.clear();
      else if (m.kind === 'token') this.consumed(m.id);
    });
  }

  /**
   * A token was used as a sign-in link somewhere: its cached result goes, and it is remembered so that a bearer
   * request already in flight (past the replay check) cannot put it back. The set is bounded; forgetting an entry
   * only means the next request asks the database again.
   */
  private consumed(tokenHash: string): void {
    this.bearerUsers.delete(tokenHash);
    if (this.usedAsLinks.size >= 10_000) this.usedAsLinks.clear();
    this.usedAsLinks.add(tokenHash);
  }

  private now(): number {
    return this.deps.now ? this.deps.now() : Date.now();
  }

  /**
   * Called with every session that authenticated a request (after the checks, before the answer). It must
   * return at once: the OIDC refresh scheduler uses it to start background re-mapping.
   */
  observeSessions(observer: ((s: Session) => void) | null): void {
    this.sessionObserver = observer;
  }

  /**
   * Resolves the caller. Returns null when the request carries no credential. A bearer token that fails
   * verification throws its TokenError (401); a suspended user throws `user_suspended` (403).
   */
  async authenticate(req: IncomingMessage): Promise<AuthContext | null> {
    const bearer = bearerFromHeader(req.headers.authorization);
    if (bearer !== null) return this.fromBearer(bearer);
    const id = this.deps.cookie.read(req.headers.cookie);
    if (id === null) return null;
    return this.fromSessionId(id);
  }

  async fromSessionId(id: string): Promise<AuthContext | null> {
    const idHash = SessionCookie.hashId(id);
    // From memory without a promise when cached (every request of a signed-in user, bar one per cache lifetime).
    let session = this.deps.sessionCache.peek(idHash) ?? (await this.deps.sessionCache.get(idHash));
    if (session && !this.deps.sessions.isLive(session)) {
      // Other processes extend the idle deadline in the database without telling this one: before refusing a
      // session that looks expired here, read it again.
      this.deps.sessionCache.delete(idHash);
      session = await this.deps.sessionCache.get(idHash);
    }
    if (!session || !this.deps.sessions.isLive(session)) return null;
    const state = this.deps.authStates.peek(session.userId) ?? (await this.deps.authStates.get(session.userId));
    if (!state) return null;
    if (state.lifecycle !== 'ACTIVE') throw suspended();
    if (this.now() - session.lastSeenAt > this.touchIntervalMs) {
      session = await this.deps.sessions.touch(session);
      this.deps.sessionCache.delete(session.idHash);
    }
    if (this.sessionObserver) {
      try {
        this.sessionObserver(session);
      } catch {
        // An observer's failure is its own; the request goes on.
      }
    }
    return { identity: state, via: 'session', session };
  }

  private async fromBearer(token: string): Promise<AuthContext> {
    const key = hashToken(token);
    const now = this.now();
    let userId: string | undefined;
    if (this.usedAsLinks.has(key)) throw replayed();
    const hit = this.bearerUsers.get(key);
    // While cross-process messages may be missed, a cached result could outlive a link use elsewhere: ask again.
    if (hit && hit.until > now && this.deps.bus.reliable && this.deps.login.mappingVersion(hit.mapping) === hit.version) {
      userId = hit.userId;
    } else {
      const result = await this.deps.login.loginWithToken(token, 'bearer');
      userId = result.user.id;
      const exp = typeof result.claims.exp === 'number' ? result.claims.exp * 1000 : now;
      const maxAge = result.issuer.maxTokenAgeSeconds;
      const iat = typeof result.claims.iat === 'number' ? result.claims.iat * 1000 : now;
      const until = maxAge !== undefined ? Math.min(exp, iat + maxAge * 1000) : exp;
      if (this.usedAsLinks.has(key)) throw replayed();
      if (this.bearerUsers.size >= (this.deps.maxBearerEntries ?? 50_000)) this.bearerUsers.clear();
      this.bearerUsers.set(key, { userId, until, mapping: result.issuer.mapping, version: result.mappingVersion });
    }
    const state = this.deps.authStates.peek(userId) ?? (await this.deps.authStates.get(userId));
    if (!state) {
      this.bearerUsers.delete(key);
      throw new TokenError('user_unknown', 'The user of this token no longer exists.');
    }
    if (state.lifecycle !== 'ACTIVE') throw suspended();
    return { identity: state, via: 'bearer' };
  }
}

function replayed(): TokenError {
  return new TokenError('jti_replayed', 'This token was already used as a sign-in link.');
}

function suspended(): GatewayError {
  return new GatewayError('user_suspended', 'This account is suspended.');
}
