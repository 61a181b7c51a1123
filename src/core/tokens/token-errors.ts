import { errors } from 'jose';
import { TokenError } from '../errors/errors.js';
import { KeySourceUnavailable } from './key-sources.js';

/**
 * jose errors → the stable public codes of docs/errors.md. Public messages are fixed strings or name only a
 * claim from a fixed list: never a claim value and never the token.
 */

/** A `token_malformed` refusal (structure, missing or mistyped claims, forbidden header parameters). */
export function malformed(message: string, cause?: unknown): TokenError {
  return new TokenError('token_malformed', message, { cause: cause === undefined ? undefined : sanitize(cause) });
}

/**
 * The cause kept for the server log. jose's claim errors carry the whole claims set (`.payload`) and fetch
 * errors can be large; the log gets the error's name, jose code and message only (none of them quote the token).
 */
export function sanitize(e: unknown): Error {
  if (!(e instanceof Error)) return new Error(String(e));
  const code = (e as { code?: unknown }).code;
  const inner = e.cause instanceof Error ? ` (cause: ${e.cause.name}: ${e.cause.message})` : '';
  return new Error(`${e.name}${typeof code === 'string' ? ` ${code}` : ''}: ${e.message}${inner}`);
}

const CLAIMS_NAMED_IN_MESSAGES = new Set(['exp', 'nbf', 'iat', 'sub', 'iss', 'aud', 'jti']);

/** Maps anything thrown while verifying a token to a TokenError (fail closed: unknown → signature_invalid). */
export function toTokenError(e: unknown): TokenError {
  if (e instanceof TokenError) return e;
  const cause = sanitize(e);
  if (e instanceof KeySourceUnavailable || e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid || e instanceof errors.JWKInvalid) {
    // The key endpoint is down, slow or serving garbage: 503, and never "accept without checking".
    return new TokenError('jwks_unavailable', 'The signing keys of the token issuer are unavailable; try again later.', { cause });
  }
  if (e instanceof errors.JWTExpired) {
    // jose reports maxTokenAge as JWTExpired on the "iat" claim.
    return e.claim === 'iat'
      ? new TokenError('token_too_old', 'The token was issued too long ago.', { cause })
      : new TokenError('token_expired', 'The token has expired.', { cause });
  }
  if (e instanceof errors.JWTClaimValidationFailed) {
    const claim = CLAIMS_NAMED_IN_MESSAGES.has(e.claim) ? e.claim : 'a required';
    if (e.claim === 'aud') return new TokenError('audience_mismatch', 'The token is not meant for this gateway (aud).', { cause });
    if (e.reason === 'missing') return malformed(`The token has no "${claim}" claim.`, e);
    if (e.reason === 'invalid') return malformed(`The token's "${claim}" claim has the wrong type.`, e);
    if (e.claim === 'nbf' || e.claim === 'iat') {
      return new TokenError('token_not_yet_valid', 'The token is not valid yet.', { cause });
    }
    if (e.claim === 'iss') return new TokenError('issuer_unknown', 'The token issuer is not trusted.', { cause });
    return malformed('The token claims are not acceptable.', e);
  }
  if (e instanceof errors.JOSEAlgNotAllowed || e instanceof errors.JOSENotSupported) {
    return new TokenError('algorithm_not_allowed', 'The token signing algorithm is not allowed.', { cause });
  }
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) {
    return malformed('The token is malformed.', e);
  }
  // JWSSignatureVerificationFailed, JWKSNoMatchingKey (unknown kid), JWKSMultipleMatchingKeys, and anything
  // unexpected: a refusal, never an acceptance.
  return new TokenError('signature_invalid', 'The token signature could not be verified.', { cause });
}
