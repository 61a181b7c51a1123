import { beforeAll, describe, expect, it } from '@jest/globals';
import { TokenError } from '../../src/core/errors/errors.js';
import { TrustMap, VerifyCache, hashToken } from '../../src/core/tokens/index.js';
import { NOW, issuerConfig, makeKeyPair, signToken, type KeyPair } from '../helpers/tokens.js';

describe('VerifyCache', () => {
  it('answers until `until` (exclusive), then forgets', () => {
    const c = new VerifyCache<string>();
    c.set('k', 'v', 100);
    expect(c.get('k', 99)).toBe('v');
    expect(c.get('k', 100)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('evicts the least recently used entry when full', () => {
    const c = new VerifyCache<number>({ maxEntries: 2 });
    c.set('a', 1, 1e12);
    c.set('b', 2, 1e12);
    expect(c.get('a', 0)).toBe(1); // a is now the most recent
    c.set('c', 3, 1e12);
    expect(c.get('b', 0)).toBeUndefined();
    expect(c.get('a', 0)).toBe(1);
    expect(c.get('c', 0)).toBe(3);
    expect(c.size).toBe(2);
  });

  it('maxEntries 0 disables caching; clear() empties', () => {
    const off = new VerifyCache<number>({ maxEntries: 0 });
    off.set('a', 1, 1e12);
    expect(off.get('a', 0)).toBeUndefined();
    const c = new VerifyCache<number>();
    c.set('a', 1, 1e12);
    c.clear();
    expect(c.get('a', 0)).toBeUndefined();
  });

  it('hashToken is the base64url SHA-256', () => {
    expect(hashToken('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });
});

describe('TrustMap bearer verify cache', () => {
  const iss = 'https://idp.test';
  let key: KeyPair;
  let clock = NOW;
  const make = (over: Record<string, unknown> = {}) =>
    new TrustMap([issuerConfig({ issuer: iss, keys: [key.publicJwk], ...over })], { now: () => clock });

  beforeAll(async () => {
    key = await makeKeyPair('RS256');
  });

  it('a reused bearer token is verified once', async () => {
    clock = NOW;
    const trust = make();
    const t = await signToken({ iss, aud: 'claimgate' }, { key });
    const first = await trust.verify(t, { purpose: 'bearer' });
    for (let i = 0; i < 50; i++) expect(await trust.verify(t, { purpose: 'bearer' })).toBe(first);
    expect(trust.stats).toEqual({ signatureVerifications: 1, cacheHits: 50 });
  });

  it('only bearer verifications use the cache', async () => {
    clock = NOW;
    const trust = make();
    const t = await signToken({ iss, aud: 'claimgate' }, { key });
    await trust.verify(t, { purpose: 'bearer' });
    await trust.verify(t, { purpose: 'sso' });
    await trust.verify(t, { purpose: 'oidc' });
    await trust.verify(t);
    expect(trust.stats).toEqual({ signatureVerifications: 4, cacheHits: 0 });
  });

  it('a cached token stops working at exp (no clock tolerance added) and is then refused', async () => {
    clock = NOW;
    const trust = make({ clockToleranceSeconds: 30 });
    const t = await signToken({ iss, aud: 'claimgate' }, { key, ttl: 60 });
    await trust.verify(t, { purpose: 'bearer' });
    clock = NOW + 59;
    await trust.verify(t, { purpose: 'bearer' });
    expect(trust.stats.cacheHits).toBe(1);
    clock = NOW + 60; // past exp: re-verified (still within tolerance, so accepted, but not re-cached)
    await trust.verify(t, { purpose: 'bearer' });
    await trust.verify(t, { purpose: 'bearer' });
    expect(trust.stats).toEqual({ signatureVerifications: 3, cacheHits: 1 });
    clock = NOW + 91;
    await expect(trust.verify(t, { purpose: 'bearer' })).rejects.toMatchObject({ code: 'token_expired' });
  });

  it('a cached token never outlives iat + maxTokenAgeSeconds', async () => {
    clock = NOW;
    const trust = make({ maxTokenAgeSeconds: 100, clockToleranceSeconds: 0 });
    const t = await signToken({ iss, aud: 'claimgate' }, { key, ttl: 3600 });
    await trust.verify(t, { purpose: 'bearer' });
    clock = NOW + 99;
    await trust.verify(t, { purpose: 'bearer' });
    expect(trust.stats.cacheHits).toBe(1);
    clock = NOW + 101;
    const err = await trust.verify(t, { purpose: 'bearer' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect((err as TokenError).code).toBe('token_too_old');
  });

  it('a cache hit does not bypass an issuerId constraint', async () => {
    clock = NOW;
    const trust = make();
    const t = await signToken({ iss, aud: 'claimgate' }, { key });
    await trust.verify(t, { purpose: 'bearer' });
    await expect(trust.verify(t, { purpose: 'bearer', issuerId: 'other' })).rejects.toMatchObject({
      code: 'issuer_unknown',
    });
  });

  it('clearCache() forces re-verification', async () => {
    clock = NOW;
    const trust = make();
    const t = await signToken({ iss, aud: 'claimgate' }, { key });
    await trust.verify(t, { purpose: 'bearer' });
    trust.clearCache();
    await trust.verify(t, { purpose: 'bearer' });
    expect(trust.stats.signatureVerifications).toBe(2);
  });
});
