import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors/errors.js';
import type { InvalidatedCache } from '../cache/invalidated-cache.js';
import type { AccessTokens } from './access-tokens.js';
import { sha256, TOKEN_PREFIX, type Credential, type CredentialLookup } from './credential.js';
import { grants, isScope, type Scope } from './scopes.js';
import { bearerFromHeader } from '../tokens/bearer.js';

/**
 * Counts failed authentications per client and refuses (429) a client that failed too often: the per-client
 * limiter of web/rate-limit.ts, seen through the one limit this uses.
 */
export interface FailureLimits {
  /** Throws 429 `rate_limited` when the client failed too often recently. */
  checkFailures(name: 'adminAuth', req: IncomingMessage): void;
  /** Counts one failure of the client. */
  failed(name: 'adminAuth', req: IncomingMessage): void;
}

/** Who is calling an API, and with which scopes. */
export interface ApiPrincipal {
  credential: Credential;
  /** Effective scopes: the token's, limited to what the credential holds now. */
  scopes: Scope[];
  via: 'token' | 'access_token';
}

const invalid = () =>
  new GatewayError('invalid_token', 401, 'The API credential is not valid, has expired or was revoked.', {
    extra: { wwwAuthenticate: 'Bearer error="invalid_token"' },
  });

/**
 * Authenticates API calls (admin API, SCIM, sync API, metrics): a static `cg_…` bearer token or an access token
 * from `/oauth/token`. Credentials are cached per process and dropped through the invalidation bus when revoked, so
 * revocation applies at once here and within a second everywhere else.
 */
export class ApiAuthenticator {
  /** Token hash -> credential id. Immutable facts, so safe to keep; the credential itself is in `cache`. */
  private readonly tokenIds = new Map<string, string>();

  constructor(
    private readonly deps: {
      store: CredentialLookup;
      accessTokens: AccessTokens;
      /** Keyed by credential id; invalidated with `{ kind: 'credential', id }`. */
      cache: InvalidatedCache<Credential>;
      /** Failed authentications per client (`rateLimits.adminAuth`): guessing credentials gets 429s. */
      limits?: FailureLimits;
      /** Told who each authenticated caller is (the request log names it without authenticating again). */
      onAuthenticated?: (req: IncomingMessage, principal: ApiPrincipal) => void;
    },
  ) {}

  /** Requires a credential holding `scope`. Throws 401 `unauthenticated`/`invalid_token` or 403 `insufficient_scope`. */
  async require(req: IncomingMessage, scope: Scope): Promise<ApiPrincipal> {
    this.deps.limits?.checkFailures('adminAuth', req);
    let principal: ApiPrincipal | null;
    try {
      principal = await this.authenticate(req);
    } catch (e) {
      if (e instanceof GatewayError && e.status === 401) this.deps.limits?.failed('adminAuth', req);
      throw e;
    }
    if (!principal) throw new GatewayError('unauthenticated', 401, 'This API needs a bearer token (see `claimgate tokens create`).');
    if (!grants(principal.scopes, scope)) {
      throw new GatewayError('insufficient_scope', 403, `This call needs the "${scope}" scope.`, {
        extra: { wwwAuthenticate: `Bearer error="insufficient_scope", scope="${scope}"` },
      });
    }
    void this.deps.store.touch(principal.credential).catch(() => undefined);
    return principal;
  }

  /** The caller, or null without an Authorization header; throws `invalid_token` for a bad one. */
  async authenticate(req: IncomingMessage): Promise<ApiPrincipal | null> {
    const header = req.headers.authorization;
    if (header === undefined) return null;
    let token: string | null;
    try {
      token = bearerFromHeader(header);
    } catch {
      throw invalid();
    }
    if (token === null || token.length < 10 || token.length > 4096) throw invalid();
    if (token.startsWith(TOKEN_PREFIX)) {
      const hash = sha256(token);
      let id = this.tokenIds.get(hash);
      if (id === undefined) {
        const found = await this.deps.store.findByToken(token);
        if (!found) throw invalid();
        id = found.id;
        if (this.tokenIds.size > 10_000) this.tokenIds.clear();
        this.tokenIds.set(hash, id);
      }
      const credential = await this.live(id);
      return this.authenticated(req, { credential, scopes: credential.scopes, via: 'token' });
    }
    const claims = await this.deps.accessTokens.verify(token);
    if (!claims) throw invalid();
    const credential = await this.live(claims.credentialId);
    if (credential.clientId !== claims.clientId) throw invalid();
    // The token's scopes, as far as the credential still grants them (admin:read from an admin:write credential too).
    const scopes = claims.scopes.filter((s): s is Scope => isScope(s) && grants(credential.scopes, s));
    return this.authenticated(req, { credential, scopes, via: 'access_token' });
  }

  private authenticated(req: IncomingMessage, principal: ApiPrincipal): ApiPrincipal {
    this.deps.onAuthenticated?.(req, principal);
    return principal;
  }

  private async live(id: string): Promise<Credential> {
    const credential = await this.deps.cache.get(id);
    if (!credential || !this.deps.store.isLive(credential)) throw invalid();
    return credential;
  }
}
