import { webcrypto } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  type FetchImplementation,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import type { IssuerConfig } from '../config/schema.js';
import { isLoopback } from '../config/validate.js';
import { noteKeyFetchFailed, noteKeysFetched } from './key-status.js';

/**
 * Where an issuer's verification keys come from. Only the issuer's configuration names a key source: the
 * token's own `jku`, `x5u`, `jwk` and `x5c` headers are never consulted (trust-map.ts refuses them).
 */

/** A key resolver in jose's shape (called with the token's protected header). */
export type KeyResolver = JWTVerifyGetKey;

/** What jwtVerify gets: always a resolver (over a key set, or over the imported HMAC secret). */
export type VerificationKey = KeyResolver;

/**
 * The issuer's keys cannot be obtained (endpoint down, slow, non-200, bad JSON, discovery mismatch).
 * verify() turns it into `jwks_unavailable` (503): the gateway fails closed.
 */
export class KeySourceUnavailable extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'KeySourceUnavailable';
  }
}

/** Builds the verification key of one issuer. Static keys and secrets are prepared once, here. */
export function keySourceFor(issuer: IssuerConfig, fetchImpl: typeof fetch = fetch): VerificationKey {
  if (issuer.sharedSecret !== undefined) return hmacKeySet(issuer.sharedSecret);
  if (issuer.keys !== undefined) {
    // createLocalJWKSet validates the set now and imports each key once per algorithm on first use
    // (jose caches the CryptoKey), so no token pays for a key import after the first.
    return createLocalJWKSet({ keys: issuer.keys as unknown as JWK[] });
  }
  if (issuer.jwksUri !== undefined) return remoteKeySet(new URL(issuer.jwksUri), issuer.jwks, fetchImpl, issuer.issuer);
  if (issuer.discovery === true) return discoveredKeySet(issuer, fetchImpl);
  throw new Error(`issuer "${issuer.id}" has no key source`);
}

const HMAC_HASH: Record<string, string> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };

/**
 * The shared secret as an HMAC CryptoKey per algorithm, imported once. (Handing jose the raw bytes would make
 * it run `crypto.subtle.importKey` on every token.) The secret is the UTF-8 bytes of the string.
 * The TrustMap has already checked `alg` against the issuer's allowlist (HS* only for a secret).
 */
export function hmacKeySet(secret: string): KeyResolver {
  const bytes = new TextEncoder().encode(secret);
  const keys = new Map<string, Promise<webcrypto.CryptoKey>>();
  return ({ alg }) => {
    const hash = alg === undefined ? undefined : HMAC_HASH[alg];
    if (alg === undefined || hash === undefined) {
      return Promise.reject(new errors.JOSENotSupported('not an HMAC algorithm'));
    }
    let key = keys.get(alg);
    if (key === undefined) {
      key = webcrypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash }, false, ['verify']);
      keys.set(alg, key);
    }
    return key;
  };
}

/**
 * A remote JWKS (jose's createRemoteJWKSet) with explicit timeout, cooldown and cache age. jose applies the
 * cooldown only after a *successful* fetch; the guarded fetch below adds the same window after a *failed* one,
 * so an outage (or a flood of unknown `kid`s during one) costs the key endpoint at most one request per
 * cooldown, and callers fail fast with `jwks_unavailable` instead of each waiting for the timeout.
 */
export function remoteKeySet(url: URL, tuning: IssuerConfig['jwks'], fetchImpl: typeof fetch = fetch, statusOf?: string): KeyResolver {
  const backoffMs = tuning.cooldownSeconds * 1000;
  let failedAt = Number.NEGATIVE_INFINITY;
  const guardedFetch: FetchImplementation = async (href, init) => {
    if (Date.now() - failedAt < backoffMs) {
      throw new KeySourceUnavailable('the key endpoint failed recently; not retrying before the cooldown ends');
    }
    try {
      const res = await fetchImpl(href, init);
      if (res.status !== 200) failedAt = Date.now();
      if (statusOf !== undefined) noteFetch(statusOf, res);
      return res;
    } catch (e) {
      failedAt = Date.now();
      if (statusOf !== undefined) noteKeyFetchFailed(statusOf, 'the key endpoint could not be reached');
      throw e;
    }
  };
  const set = createRemoteJWKSet(url, {
    timeoutDuration: tuning.timeoutMs,
    cooldownDuration: tuning.cooldownSeconds * 1000,
    cacheMaxAge: tuning.cacheMaxAgeSeconds * 1000,
    [customFetch]: guardedFetch,
  });
  return async (header, token) => {
    try {
      return await set(header, token);
    } catch (e) {
      // "No such key" is the token's problem (signature_invalid); everything else is the endpoint's.
      if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) throw e;
      if (e instanceof errors.JOSENotSupported || e instanceof KeySourceUnavailable) throw e;
      throw new KeySourceUnavailable(`fetching the JWKS failed`, { cause: e });
    }
  };
}

/** `<issuer>/.well-known/openid-configuration`, without doubling a trailing slash of the issuer. */
/** Records the outcome of a key-set fetch for the console (key ids only; the keys themselves stay with jose). */
function noteFetch(issuer: string, res: Response): void {
  if (res.status !== 200) {
    noteKeyFetchFailed(issuer, `the key endpoint answered HTTP ${res.status}`);
    return;
  }
  res
    .clone()
    .json()
    .then((body: unknown) => {
      const keys = (body as { keys?: unknown }).keys;
      const kids = Array.isArray(keys) ? keys.map((k) => (k as { kid?: unknown }).kid).filter((k): k is string => typeof k === 'string') : [];
      noteKeysFetched(issuer, kids);
    })
    .catch(() => noteKeyFetchFailed(issuer, 'the key set is not JSON'));
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * `discovery: true`: fetches the provider metadata lazily (first token), checks that its `issuer` is exactly
 * the configured one (OpenID Connect Discovery section 4.3, so a metadata document cannot redirect trust elsewhere),
 * then uses its `jwks_uri` like a configured `jwksUri`. A failed discovery is retried by a later token, at
 * most once per cooldown.
 */
export function discoveredKeySet(issuer: IssuerConfig, fetchImpl: typeof fetch = fetch): KeyResolver {
  const url = discoveryUrl(issuer.issuer);
  const backoffMs = issuer.jwks.cooldownSeconds * 1000;
  let resolver: KeyResolver | undefined;
  let pending: Promise<KeyResolver> | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;
  let lastError: unknown;

  const discover = async (): Promise<KeyResolver> => {
    let res: Response;
    try {
      // No redirects, like jose's JWKS fetch: the metadata must be served at the issuer's own URL.
      res = await fetchImpl(url, {
        redirect: 'manual',
        signal: AbortSignal.timeout(issuer.jwks.timeoutMs),
        headers: { accept: 'application/json' },
      });
    } catch (e) {
      throw new KeySourceUnavailable('fetching the OpenID configuration failed', { cause: e });
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new KeySourceUnavailable(`the OpenID configuration answered HTTP ${res.status}`);
    }
    let meta: unknown;
    try {
      meta = await res.json();
    } catch (e) {
      throw new KeySourceUnavailable('the OpenID configuration is not JSON', { cause: e });
    }
    const m = (meta ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
    if (m.issuer !== issuer.issuer) {
      throw new KeySourceUnavailable('the OpenID configuration names a different issuer');
    }
    if (typeof m.jwks_uri !== 'string') throw new KeySourceUnavailable('the OpenID configuration has no jwks_uri');
    let jwksUrl: URL;
    try {
      jwksUrl = new URL(m.jwks_uri);
    } catch (e) {
      throw new KeySourceUnavailable('the OpenID configuration has an invalid jwks_uri', { cause: e });
    }
    // Same transport rule as a configured jwksUri (core/config/validate.ts).
    const insecureOk = jwksUrl.protocol === 'http:' && (isLoopback(jwksUrl.hostname) || issuer.allowInsecureHttp);
    if (jwksUrl.protocol !== 'https:' && !insecureOk) {
      throw new KeySourceUnavailable('the discovered jwks_uri is not https');
    }
    return remoteKeySet(jwksUrl, issuer.jwks, fetchImpl, issuer.issuer);
  };

  const start = (): Promise<KeyResolver> => {
    if (pending === undefined) {
      if (Date.now() - failedAt < backoffMs) {
        return Promise.reject(
          new KeySourceUnavailable('OpenID discovery failed recently; not retrying before the cooldown ends', {
            cause: lastError,
          }),
        );
      }
      // Concurrent first tokens share one discovery; the slot is freed once it settles.
      pending = discover()
        .then(
          (r) => (resolver = r),
          (e: unknown) => {
            failedAt = Date.now();
            lastError = e;
            noteKeyFetchFailed(issuer.issuer, e instanceof Error ? e.message : 'OpenID discovery failed');
            throw e;
          },
        )
        .finally(() => (pending = undefined));
    }
    return pending;
  };

  return async (header, token) => (resolver ?? (await start()))(header, token);
}
