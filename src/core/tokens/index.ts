/** The trust map: issuer → keys, algorithms, audiences; verify(token) → claims. No Express. */
export { TrustMap } from './trust-map.js';
export type { TokenPurpose, TrustMapOptions, TrustMapStats, VerifiedToken, VerifyOptions } from './trust-map.js';
export { VerifyCache, hashToken } from './verify-cache.js';
export type { VerifyCacheOptions } from './verify-cache.js';
export { KeySourceUnavailable, discoveryUrl } from './key-sources.js';
