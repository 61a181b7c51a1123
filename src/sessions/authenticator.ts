import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { GatewayError, TokenError } from '../errors.js';
import type { Identity } from '../forwarding/assertion.js';
import type { InvalidatedCache } from '../cache/invalidated-cache.js';
import type { InvalidationBus } from '../cache/invalidation.js';
import type { LoginService } from '../login/login-service.js';
import { SessionCookie } from './cookie.js';
import type { Session, SessionStore } from './session-store.js';

/** The authorisation state of a user, as cached per process. */
export interface AuthState extends Identity {
  lifecycle: 'ACTIVE' | 'SUSPENDED' | 'DEPROVISIONED';
}

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
  private readonly touchIntervalMs: number;
  private sessionObserver: ((s: Session) => void) | null = null;

  constructor(
    private readonly deps: {
      cookie: SessionCookie;
      sessions: SessionStore;
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
    });
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

  /** The bearer token of a request, if it sent one (any case of the scheme). */
  static bearerToken(req: IncomingMessage): string | null {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return null;
    const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(h);
    return m ? m[1]! : null;
  }

  /**
   * Resolves the caller. Returns null when the request carries no credential. A bearer token that fails
   * verification throws its TokenError (401); a suspended user throws `user_suspended` (403).
   */
  async authenticate(req: IncomingMessage): Promise<AuthContext | null> {
    const bearer = Authenticator.bearerToken(req);
    if (bearer !== null) return this.fromBearer(bearer);
    if (typeof req.headers.authorization === 'string' && /^bearer\b/i.test(req.headers.authorization)) {
      throw new TokenError('token_malformed', 'The Authorization header is not a valid bearer token.');
    }
    const id = this.deps.cookie.read(req.headers.cookie);
    if (id === null) return null;
    return this.fromSessionId(id);
  }

  async fromSessionId(id: string): Promise<AuthContext | null> {
    const idHash = SessionCookie.hashId(id);
    let session = await this.deps.sessionCache.get(idHash);
    if (session && !this.deps.sessions.isLive(session)) {
      // Other processes extend the idle deadline in the database without telling this one: before refusing a
      // session that looks expired here, read it again.
      this.deps.sessionCache.delete(idHash);
      session = await this.deps.sessionCache.get(idHash);
    }
    if (!session || !this.deps.sessions.isLive(session)) return null;
    const state = await this.deps.authStates.get(session.userId);
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
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.now();
    let userId: string | undefined;
    const hit = this.bearerUsers.get(key);
    if (hit && hit.until > now && this.deps.login.mappingVersion(hit.mapping) === hit.version) {
      userId = hit.userId;
    } else {
      const result = await this.deps.login.loginWithToken(token, 'bearer');
      userId = result.user.id;
      const exp = typeof result.claims.exp === 'number' ? result.claims.exp * 1000 : now;
      const maxAge = result.issuer.maxTokenAgeSeconds;
      const iat = typeof result.claims.iat === 'number' ? result.claims.iat * 1000 : now;
      const until = maxAge !== undefined ? Math.min(exp, iat + maxAge * 1000) : exp;
      if (this.bearerUsers.size >= (this.deps.maxBearerEntries ?? 50_000)) this.bearerUsers.clear();
      this.bearerUsers.set(key, { userId, until, mapping: result.issuer.mapping, version: result.mappingVersion });
    }
    const state = await this.deps.authStates.get(userId);
    if (!state) {
      this.bearerUsers.delete(key);
      throw new TokenError('user_unknown', 'The user of this token no longer exists.');
    }
    if (state.lifecycle !== 'ACTIVE') throw suspended();
    return { identity: state, via: 'bearer' };
  }
}

function suspended(): GatewayError {
  return new GatewayError('user_suspended', 403, 'This account is suspended.');
}
