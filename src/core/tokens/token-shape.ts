import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { TokenError } from '../errors/errors.js';
import { malformed } from './token-errors.js';

/**
 * Structural checks on a token that is not trusted yet: shape, header and payload decoding. Nothing here
 * grants trust; it only refuses early, with a precise code, what no signature could make acceptable.
 */

/** Compact JWS: three base64url parts, the signature possibly empty (so `alg: none` reaches its own refusal). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Header parameters that name key material. Keys come only from the issuer's configuration, so refuse them. */
const KEY_HINT_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;
const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const LOGOUT_TYP = /^(application\/)?logout\+jwt$/i;

/** Decodes and checks the protected header (no trust implied). */
export function decodeHeader(token: string): ProtectedHeaderParameters {
  if (!COMPACT_JWS.test(token)) {
    // Count dots without splitting (the token may be up to maxTokenBytes).
    let dots = 0;
    for (let i = token.indexOf('.'); i !== -1; i = token.indexOf('.', i + 1)) dots++;
    if (dots === 4) throw malformed('Encrypted tokens (JWE) are not accepted.');
    throw malformed('The token is not a signed JWT (three dot-separated base64url parts).');
  }
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (e) {
    throw malformed('The token header cannot be decoded.', e);
  }
  if (typeof header.alg !== 'string' || header.alg.length === 0) throw malformed('The token header has no "alg".');
  // Any casing of "none": an unsigned token is never accepted, whatever the issuer.
  if (header.alg.toLowerCase() === 'none') {
    throw new TokenError('algorithm_not_allowed', 'Unsigned tokens (alg "none") are not accepted.');
  }
  for (const name of KEY_HINT_HEADERS) {
    // A token that brings its own key (or a URL to one) is refused outright rather than silently ignored:
    // no legitimate issuer needs it here, and refusing makes the attempt visible in the logs.
    if (Object.hasOwn(header, name)) {
      throw malformed(`The token header carries "${name}"; keys come only from the issuer's configuration.`);
    }
  }
  // No JWS extension is implemented, so any critical one is unknown (RFC 7515 section 4.1.11).
  if (Object.hasOwn(header, 'crit')) throw malformed('The token header has unsupported critical extensions.');
  if (typeof header.typ === 'string' && LOGOUT_TYP.test(header.typ)) {
    throw malformed('A logout token cannot be used to sign in.');
  }
  return header;
}

/** Decodes the payload (no trust implied) and refuses logout tokens. */
export function decodePayload(token: string): JWTPayload {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch (e) {
    throw malformed('The token payload cannot be decoded.', e);
  }
  // OpenID back-channel logout tokens share iss and aud with ID tokens; they must never sign anyone in.
  const events = payload.events;
  if (events !== null && typeof events === 'object' && Object.hasOwn(events, BACKCHANNEL_LOGOUT_EVENT)) {
    throw malformed('A logout token cannot be used to sign in.');
  }
  return payload;
}
