import { errors, jwtVerify, type JWTPayload } from 'jose';
import { KeySourceUnavailable, remoteKeySet, type KeyResolver } from '../../core/tokens/key-sources.js';
import { internal, unauthenticated } from './errors.js';

/** Signature algorithms a push may use: asymmetric only (the key comes from the service's public key endpoint). */
export const EVENT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384'];

export interface EventVerifierOptions {
  /** `provisioning.events.jwksUri`: the identity service's public key endpoint. */
  jwksUri: string;
  /** Expected `iss` (`urn:alibaba:idaas:app:event`). */
  issuer: string;
  /** Expected `aud`: the application id. */
  appId: string;
  clockToleranceSeconds: number;
  /** Seconds since the epoch. */
  now: () => number;
  /** Key set fetching: an unknown `kid` refetches at most once per cooldown. */
  jwks?: { timeoutMs: number; cooldownSeconds: number; cacheMaxAgeSeconds: number };
}

/**
 * Verifies the push token: key by `kid` from the configured JWKS only (never `jku`/`jwk`/`x5u` headers), algorithm
 * allowlist, exact `iss` and `aud`, `iat` and `exp` required, with the configured clock skew.
 */
export class EventVerifier {
  private readonly keys: KeyResolver;

  constructor(private readonly opts: EventVerifierOptions) {
    this.keys = remoteKeySet(new URL(opts.jwksUri), opts.jwks ?? { timeoutMs: 5000, cooldownSeconds: 30, cacheMaxAgeSeconds: 600 });
  }

  async verify(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        algorithms: EVENT_ALGORITHMS,
        issuer: this.opts.issuer,
        audience: this.opts.appId,
        requiredClaims: ['iat', 'exp'],
        clockTolerance: this.opts.clockToleranceSeconds,
        currentDate: new Date(this.opts.now() * 1000),
      });
      return payload;
    } catch (e) {
      throw describe(e);
    }
  }
}

function describe(e: unknown) {
  if (e instanceof KeySourceUnavailable) return internal('the public key endpoint is unavailable; retry later', e);
  if (e instanceof errors.JWTExpired) return unauthenticated('the push has expired (exp)', e);
  if (e instanceof errors.JWTClaimValidationFailed) {
    const what = e.claim === 'aud' ? 'is not for this application (aud)' : e.claim === 'iss' ? 'has the wrong issuer (iss)' : `has an invalid "${e.claim}" claim`;
    return unauthenticated(`the push ${what}`, e);
  }
  if (e instanceof errors.JOSEAlgNotAllowed || e instanceof errors.JOSENotSupported) {
    return unauthenticated('the push is unsigned or uses an algorithm that is not accepted', e);
  }
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JWKSMultipleMatchingKeys) {
    return unauthenticated('the push signature could not be verified', e);
  }
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return unauthenticated('the push token is malformed', e);
  return internal('the push could not be verified', e);
}
