import type { IssuerConfig } from '../config/schema.js';
import type { Claims } from '../mapping/types.js';

/**
 * The single-use id of a sign-in link: `jti`, or with the Entra preset `uti` when `jti` is absent (Entra v2
 * tokens carry a unique token id under that name and no `jti`).
 */
export function linkIdOf(issuer: IssuerConfig, claims: Claims): unknown {
  const jti = claims.jti;
  if (issuer.preset === 'entra' && (jti === undefined || jti === null || jti === '')) return claims.uti;
  return jti;
}
