import { randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { SigningKey } from '../identity/assertion.js';

/** The `typ` of access tokens from `/claimgate/oauth/token`; no other token of the gateway carries it. */
export const ACCESS_TOKEN_TYP = 'claimgate-access+jwt';

export interface AccessTokenClaims {
  credentialId: string;
  clientId: string;
  scopes: string[];
}

/**
 * Mints and verifies the short-lived access tokens of the client-credentials grant. They are signed with their
 * own key (`signing_keys.use = 'access'`), never the assertion key, and carry their own `typ` and audience, so an
 * assertion cannot be replayed as an access token or the other way round.
 */
export class AccessTokens {
  private readonly jwks: ReturnType<typeof createLocalJWKSet>;

  constructor(
    private readonly keys: SigningKey[],
    private readonly opts: { issuer: string; audience: string; ttlSeconds: number; now?: () => number },
  ) {
    if (keys.length === 0) throw new Error('no access-token signing key');
    this.jwks = createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) });
  }

  get ttlSeconds(): number {
    return this.opts.ttlSeconds;
  }

  async mint(c: AccessTokenClaims): Promise<string> {
    const now = Math.floor((this.opts.now ? this.opts.now() : Date.now()) / 1000);
    const key = this.keys[0]!;
    return new SignJWT({ client_id: c.clientId, scope: c.scopes.join(' ') })
      .setProtectedHeader({ alg: 'ES256', typ: ACCESS_TOKEN_TYP, kid: key.kid })
      .setIssuer(this.opts.issuer)
      .setAudience(this.opts.audience)
      .setSubject(c.credentialId)
      .setIssuedAt(now)
      .setExpirationTime(now + this.opts.ttlSeconds)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  /** The claims of a valid access token, or null for anything else (expired, forged, another kind of token). */
  async verify(token: string): Promise<AccessTokenClaims | null> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        algorithms: ['ES256'],
        typ: ACCESS_TOKEN_TYP,
        issuer: this.opts.issuer,
        audience: this.opts.audience,
        requiredClaims: ['exp', 'sub', 'iat'],
        currentDate: this.opts.now ? new Date(this.opts.now()) : undefined,
      }));
    } catch {
      return null;
    }
    if (typeof payload.sub !== 'string' || typeof payload.client_id !== 'string' || typeof payload.scope !== 'string') return null;
    return { credentialId: payload.sub, clientId: payload.client_id, scopes: payload.scope.split(' ').filter(Boolean) };
  }
}
