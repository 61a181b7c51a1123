import { beforeAll, describe, expect, it } from '@jest/globals';
import { GatewayError, TokenError } from '../../src/core/errors/errors.js';
import { TrustMap } from '../../src/core/tokens/index.js';
import { NOW, issuerConfig, makeKeyPair, signToken, type KeyPair } from '../helpers/tokens.js';

const SECRET = 'an-hmac-secret-of-at-least-32-bytes!!';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TokenError);
    return (e as TokenError).code;
  }
  throw new Error('the token was accepted');
}

describe('TrustMap happy paths', () => {
  const algs = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
  const pairs: Record<string, KeyPair> = {};
  let trust: TrustMap;

  beforeAll(async () => {
    for (const alg of algs) pairs[alg] = await makeKeyPair(alg);
    trust = new TrustMap(
      [
        ...algs.map((alg) =>
          issuerConfig({ id: alg.toLowerCase(), issuer: `https://${alg.toLowerCase()}.test`, algorithms: [alg], keys: [pairs[alg]!.publicJwk] }),
        ),
        issuerConfig({ id: 'hs', issuer: 'https://hs.test', algorithms: ['HS256'], sharedSecret: SECRET }),
      ],
      { now: () => NOW },
    );
  });

  it.each(algs)('%s token from a static key set', async (alg) => {
    const iss = `https://${alg.toLowerCase()}.test`;
    const token = await signToken({ iss, aud: 'claimgate', email: 'a@example.test' }, { key: pairs[alg]! });
    const v = await trust.verify(token);
    expect(v.issuer.id).toBe(alg.toLowerCase());
    expect(v.header.alg).toBe(alg);
    expect(v.claims).toMatchObject({ iss, sub: 'user-1', email: 'a@example.test' });
    expect(v.tokenHash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('HS256 token with the shared secret (UTF-8 bytes)', async () => {
    const key = new TextEncoder().encode(SECRET);
    const v = await trust.verify(await signToken({ iss: 'https://hs.test', aud: 'claimgate' }, { key, alg: 'HS256' }));
    expect(v.issuer.id).toBe('hs');
  });

  it('HS256 token with another secret is refused', async () => {
    const key = new TextEncoder().encode(`${SECRET}-other`);
    const t = await signToken({ iss: 'https://hs.test', aud: 'claimgate' }, { key, alg: 'HS256' });
    expect(await codeOf(trust.verify(t))).toBe('signature_invalid');
  });

  it('verified claims are frozen (a cached result is shared between requests)', async () => {
    const v = await trust.verify(
      await signToken({ iss: 'https://rs256.test', aud: 'claimgate', groups: ['a'] }, { key: pairs.RS256! }),
    );
    expect(Object.isFrozen(v.claims)).toBe(true);
    expect(Object.isFrozen(v.claims.groups)).toBe(true);
  });
});

describe('TrustMap key selection', () => {
  it('a token without kid against a key set without kids tries each matching key', async () => {
    const one = await makeKeyPair('RS256');
    const two = await makeKeyPair('RS256');
    const stranger = await makeKeyPair('RS256');
    const strip = ({ kid: _kid, ...jwk }: Record<string, unknown>) => jwk;
    const trust = new TrustMap([issuerConfig({ keys: [strip(one.publicJwk), strip(two.publicJwk)] })], { now: () => NOW });
    const claims = { iss: 'https://idp.test', aud: 'claimgate' };
    await expect(trust.verify(await signToken(claims, { key: two, kid: null }))).resolves.toMatchObject({ claims: { iss: 'https://idp.test', aud: expect.anything() } });
    await expect(trust.verify(await signToken(claims, { key: one, kid: null }))).resolves.toMatchObject({ claims: { iss: 'https://idp.test', aud: expect.anything() } });
    expect(await codeOf(trust.verify(await signToken(claims, { key: stranger, kid: null })))).toBe('signature_invalid');
  });
});

describe('TrustMap claim rules', () => {
  let key: KeyPair;
  let clock = NOW;
  let trust: TrustMap;
  const iss = 'https://idp.test';

  beforeAll(async () => {
    key = await makeKeyPair('ES256');
    trust = new TrustMap(
      [issuerConfig({ issuer: iss, algorithms: ['ES256'], keys: [key.publicJwk], audiences: ['claimgate', 'reports'], clockToleranceSeconds: 30 })],
      { now: () => clock },
    );
  });

  it.each([
    ['a string aud in the list', 'reports'],
    ['an array aud with one match', ['other', 'claimgate']],
  ])('audiences any-match: %s', async (_name, aud) => {
    clock = NOW;
    await expect(trust.verify(await signToken({ iss, aud }, { key }))).resolves.toMatchObject({ claims: { iss: 'https://idp.test', aud: expect.anything() } });
  });

  it('audiences: an array with no match is refused', async () => {
    clock = NOW;
    expect(await codeOf(trust.verify(await signToken({ iss, aud: ['x', 'y'] }, { key })))).toBe('audience_mismatch');
  });

  it('clock tolerance: exp and nbf within the tolerance are accepted, beyond it refused', async () => {
    const t = await signToken({ iss, aud: 'claimgate', nbf: NOW + 20 }, { key, ttl: 100 });
    clock = NOW;
    await expect(trust.verify(t)).resolves.toMatchObject({ claims: { iss: 'https://idp.test', aud: expect.anything() } }); // nbf 20 s ahead, tolerance 30
    clock = NOW + 120;
    await expect(trust.verify(t)).resolves.toMatchObject({ claims: { iss: 'https://idp.test', aud: expect.anything() } }); // exp 20 s ago, tolerance 30
    clock = NOW + 131;
    expect(await codeOf(trust.verify(t))).toBe('token_expired');
    clock = NOW - 11;
    expect(await codeOf(trust.verify(t))).toBe('token_not_yet_valid');
  });

  it('iat in the future is refused even without maxTokenAge', async () => {
    clock = NOW;
    const t = await signToken({ iss, aud: 'claimgate', iat: NOW + 60 }, { key });
    expect(await codeOf(trust.verify(t))).toBe('token_not_yet_valid');
  });

  it('without maxTokenAge, a token without iat is accepted for bearer use but refused as an SSO link', async () => {
    clock = NOW;
    const t = await signToken({ iss, aud: 'claimgate' }, { key, noIat: true });
    await expect(trust.verify(t, { purpose: 'bearer' })).resolves.toMatchObject({ claims: { iss: 'https://idp.test', aud: expect.anything() } });
    expect(await codeOf(trust.verify(t, { purpose: 'sso' }))).toBe('token_malformed');
  });

  it('an SSO link uses ssoLink.maxTokenAgeSeconds (120 s by default)', async () => {
    clock = NOW;
    const fresh = await signToken({ iss, aud: 'claimgate' }, { key, now: NOW - 100 });
    const stale = await signToken({ iss, aud: 'claimgate' }, { key, now: NOW - 200, ttl: 3600 });
    await expect(trust.verify(fresh, { purpose: 'sso' })).resolves.toMatchObject({ claims: { iss: 'https://idp.test', aud: expect.anything() } });
    expect(await codeOf(trust.verify(stale, { purpose: 'sso' }))).toBe('token_too_old');
    await expect(trust.verify(stale, { purpose: 'oidc' })).resolves.toMatchObject({ claims: { iss: 'https://idp.test', aud: expect.anything() } });
  });

  it('issuerId selects the issuer the token must come from', async () => {
    clock = NOW;
    const t = await signToken({ iss, aud: 'claimgate' }, { key });
    await expect(trust.verify(t, { issuerId: 'corp' })).resolves.toMatchObject({ claims: { iss: 'https://idp.test', aud: expect.anything() } });
    expect(await codeOf(trust.verify(t, { issuerId: 'nope' }))).toBe('issuer_unknown');
  });

  it('errors never carry the token in their message or cause', async () => {
    clock = NOW;
    const t = await signToken({ iss, aud: 'elsewhere' }, { key });
    const err = await trust.verify(t).catch((e: unknown) => e as TokenError);
    expect(err).toBeInstanceOf(TokenError);
    expect(String((err as TokenError).message)).not.toContain(t);
    expect(String((err as Error).cause)).not.toContain(t.split('.')[1]!);
    // jose's claim errors carry the whole claims set; the kept cause must not.
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect(((err as Error).cause as { payload?: unknown }).payload).toBeUndefined();
    expect(String((err as Error).cause)).not.toContain('elsewhere');
  });
});

describe('TrustMap construction', () => {
  let key: KeyPair;
  beforeAll(async () => {
    key = await makeKeyPair('RS256');
  });

  const build = (over: Record<string, unknown>, publicUrl?: string) => () =>
    new TrustMap([issuerConfig({ keys: [key.publicJwk], ...over })], { publicUrl });

  it.each([
    ['publicUrl configured as an issuer', { issuer: 'https://gw.test' }, 'https://gw.test'],
    ['publicUrl with a trailing slash as an issuer', { issuer: 'https://gw.test/' }, 'https://gw.test'],
    ['HS mixed with asymmetric algorithms', { algorithms: ['RS256', 'HS256'] }, undefined],
    ['HS algorithm without a sharedSecret', { algorithms: ['HS256'] }, undefined],
    ['a sharedSecret shorter than 32 bytes', { keys: undefined, algorithms: ['HS256'], sharedSecret: 'short' }, undefined],
    ['two key sources', { jwksUri: 'https://idp.test/jwks' }, undefined],
    ['a private key among the static keys', { keys: [{ ...{ kty: 'RSA', n: 'x', e: 'AQAB' }, d: 'secret' }] }, undefined],
  ])('refuses %s', (_name, over, publicUrl) => {
    expect(build(over, publicUrl)).toThrow(GatewayError);
  });

  it('refuses the same iss twice', () => {
    const a = issuerConfig({ keys: [key.publicJwk] });
    expect(() => new TrustMap([a, { ...a, id: 'other' }])).toThrow(/twice/);
  });

  it('accepts a sound configuration and lists it', () => {
    const t = build({}, 'https://gw.test')();
    expect(t.issuers.map((i) => i.id)).toEqual(['corp']);
    expect(t.issuer('corp')?.issuer).toBe('https://idp.test');
  });
});
