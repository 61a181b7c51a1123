import { SignJWT, exportJWK, generateKeyPair, importJWK, calculateJwkThumbprint, type JWK, type CryptoKey } from 'jose';
import type { Identity } from './identity.js';

export const ASSERTION_TYP = 'claimgate-assertion+jwt';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** Imports an ES256 private JWK (configured or stored) into a signing key. */
export async function importSigningKey(privateJwk: JWK): Promise<SigningKey> {
  const privateKey = (await importJWK({ ...privateJwk, alg: 'ES256' }, 'ES256')) as CryptoKey;
  const { d: _d, ...pub } = privateJwk;
  const kid = privateJwk.kid ?? (await calculateJwkThumbprint(pub));
  return { kid, privateKey, publicJwk: { ...pub, kid, alg: 'ES256', use: 'sig' } };
}

/** A fresh ES256 key as a private JWK with a thumbprint kid. */
export async function generateSigningJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const { d: _d, ...pub } = jwk;
  return { ...jwk, kid: await calculateJwkThumbprint(pub), alg: 'ES256', use: 'sig' };
}

/**
 * Signs the `X-Claimgate-Assertion` JWS. Signing costs far more than a proxied request, so the assertion is
 * signed once per user version and reused until it is close to expiry (re-signed with a third of its life
 * left), never per request.
 */
export class AssertionSigner {
  /** userId -> the assertion of one version of that user. */
  private readonly cache = new Map<string, { version: number; jws: string; refreshAt: number }>();
  private readonly maxEntries = 50_000;

  constructor(
    private readonly keys: SigningKey[],
    private readonly opts: { issuer: string; audience: string; ttlSeconds: number; now?: () => number },
  ) {
    if (keys.length === 0) throw new Error('no assertion signing key');
  }

  /** Public keys for `/claimgate/jwks.json` (the signing key and any still-verifying older keys). */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  private nowMs(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  /** The assertion `assertionFor` would answer without signing, or undefined when it has to sign. */
  cached(identity: Identity): string | undefined {
    const hit = this.cache.get(identity.userId);
    return hit && hit.version === identity.version && hit.refreshAt > this.nowMs() ? hit.jws : undefined;
  }

  async assertionFor(identity: Identity): Promise<string> {
    const now = this.nowMs();
    const hit = this.cache.get(identity.userId);
    if (hit && hit.version === identity.version && hit.refreshAt > now) return hit.jws;
    const jws = await this.sign(identity, Math.floor(now / 1000));
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(identity.userId, {
      version: identity.version,
      jws,
      refreshAt: now + (this.opts.ttlSeconds * 1000 * 2) / 3,
    });
    return jws;
  }

  private sign(identity: Identity, iat: number): Promise<string> {
    const key = this.keys[0]!;
    return new SignJWT({
      usercode: identity.usercode,
      email: identity.email ?? '',
      name: identity.displayName ?? '',
      roles: identity.roles,
      permissions: identity.permissions,
      attributes: identity.attributes,
    })
      .setProtectedHeader({ alg: 'ES256', typ: ASSERTION_TYP, kid: key.kid })
      .setIssuer(this.opts.issuer)
      .setAudience(this.opts.audience)
      .setSubject(identity.userId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.opts.ttlSeconds)
      .sign(key.privateKey);
  }
}
