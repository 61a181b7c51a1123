import type { Claims } from '../../core/mapping/types.js';

/**
 * Claims that describe the ID token itself. Userinfo never overrides them: they are what the ID token's
 * signature and the code flow's checks vouched for.
 */
const PROTOCOL_CLAIMS = new Set([
  'iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'nonce', 'azp', 'auth_time', 'acr', 'amr', 'sid', 'at_hash', 'c_hash', 's_hash',
]);

/**
 * `userinfo: merge`: the userinfo claims join the ID token's before mapping. A profile claim present in both
 * takes the userinfo value (userinfo is the provider's current view, the ID token may carry a trimmed one);
 * protocol claims always stay the ID token's. openid-client has already checked that userinfo's `sub` is the
 * ID token's.
 */
export function mergeUserinfo(idToken: Claims, userinfo: Record<string, unknown>): Claims {
  const merged: Claims = { ...idToken };
  for (const [k, v] of Object.entries(userinfo)) {
    if (!PROTOCOL_CLAIMS.has(k) && k !== '__proto__') merged[k] = v;
  }
  return merged;
}
