import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { TokenError } from '../../src/core/errors/errors.js';
import { TrustMap, discoveryUrl } from '../../src/core/tokens/index.js';
import {
  NOW,
  issuerConfig,
  makeKeyPair,
  signToken,
  startJwksServer,
  type JwksServer,
  type KeyPair,
} from '../helpers/tokens.js';

/**
 * Remote key sets against a real HTTP server that counts its fetches. jose's cache and cooldown run on the
 * wall clock, so the cooldown tests use a 1 s cooldown and really wait.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function codeOf(p: Promise<unknown>): Promise<{ code: string; status: number }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TokenError);
    return { code: (e as TokenError).code, status: (e as TokenError).status };
  }
  throw new Error('the token was accepted');
}

let a: KeyPair;
let b: KeyPair;
let stranger: KeyPair;
const servers: JwksServer[] = [];

beforeAll(async () => {
  a = await makeKeyPair('RS256', 'key-a');
  b = await makeKeyPair('RS256', 'key-b');
  stranger = await makeKeyPair('RS256', 'stranger');
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(keys = [a.publicJwk]): Promise<JwksServer> {
  const s = await startJwksServer(keys);
  servers.push(s);
  return s;
}

const ISS = 'https://idp.test';
function remoteTrust(s: JwksServer, jwks: Record<string, number> = {}): TrustMap {
  return new TrustMap([issuerConfig({ issuer: ISS, jwksUri: s.jwksUri, jwks })], { now: () => NOW });
}
const tokenFor = (key: KeyPair, claims: Record<string, unknown> = {}) =>
  signToken({ iss: ISS, aud: 'claimgate', ...claims }, { key });

describe('remote JWKS', () => {
  it('caches the key set: 100 verifies, 1 fetch', async () => {
    const s = await server();
    const trust = remoteTrust(s);
    const tokens = await Promise.all(Array.from({ length: 100 }, (_, i) => tokenFor(a, { sub: `u${i}` })));
    await Promise.all(tokens.slice(0, 50).map((t) => trust.verify(t))); // concurrent first use: one fetch
    for (const t of tokens.slice(50)) await trust.verify(t);
    expect(s.fetches.jwks).toBe(1);
    expect(trust.stats.signatureVerifications).toBe(100);
  });

  it('rotation: a new kid triggers one refetch once the cooldown has passed', async () => {
    const s = await server([a.publicJwk]);
    const trust = remoteTrust(s, { cooldownSeconds: 1 });
    await trust.verify(await tokenFor(a));
    expect(s.fetches.jwks).toBe(1);

    s.setKeys([a.publicJwk, b.publicJwk]);
    // Within the cooldown of the last fetch an unknown kid does not refetch.
    expect((await codeOf(trust.verify(await tokenFor(b)))).code).toBe('signature_invalid');
    expect(s.fetches.jwks).toBe(1);

    await sleep(1100);
    await expect(trust.verify(await tokenFor(b))).resolves.toMatchObject({ header: { kid: 'key-b' } });
    expect(s.fetches.jwks).toBe(2);
    await trust.verify(await tokenFor(a));
    await trust.verify(await tokenFor(b));
    expect(s.fetches.jwks).toBe(2);
  });

  it('a flood of unknown kids costs at most one fetch per cooldown', async () => {
    const s = await server();
    const trust = remoteTrust(s, { cooldownSeconds: 1 });
    await trust.verify(await tokenFor(a));
    const flood = await Promise.all(
      Array.from({ length: 40 }, (_, i) => signToken({ iss: ISS, aud: 'claimgate' }, { key: stranger, kid: `rand-${i}` })),
    );

    const burst1 = await Promise.all(flood.slice(0, 20).map((t) => codeOf(trust.verify(t))));
    expect(burst1.every((r) => r.code === 'signature_invalid')).toBe(true);
    expect(s.fetches.jwks).toBe(1); // still inside the cooldown of the first fetch

    await sleep(1100);
    const burst2 = await Promise.all(flood.slice(20, 30).map((t) => codeOf(trust.verify(t))));
    for (const t of flood.slice(30)) burst2.push(await codeOf(trust.verify(t)));
    expect(burst2.every((r) => r.code === 'signature_invalid')).toBe(true);
    expect(s.fetches.jwks).toBe(2);
  });

  it('a slow key endpoint gives jwks_unavailable within the timeout; cached keys keep working', async () => {
    const s = await server();
    const trust = remoteTrust(s, { timeoutMs: 200, cooldownSeconds: 1 });
    await trust.verify(await tokenFor(a));

    await sleep(1100); // past the cooldown, so the unknown kid may refetch
    s.setKeys([a.publicJwk, b.publicJwk]);
    s.setDelay(3000);
    const started = Date.now();
    expect(await codeOf(trust.verify(await tokenFor(b)))).toEqual({ code: 'jwks_unavailable', status: 503 });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(s.fetches.jwks).toBe(2);

    // Known keys are still fresh in the cache: no fetch, no wait.
    await expect(trust.verify(await tokenFor(a))).resolves.toMatchObject({ claims: { iss: ISS } });
    // Right after a failed fetch, another unknown kid fails fast (before the 200 ms timeout) without hitting the
    // endpoint again. The token is signed before the clock starts: only the verification is timed.
    const unknownKid = await tokenFor(b);
    const t0 = Date.now();
    expect((await codeOf(trust.verify(unknownKid))).code).toBe('jwks_unavailable');
    expect(Date.now() - t0).toBeLessThan(150);
    expect(s.fetches.jwks).toBe(2);

    s.setDelay(0);
    await sleep(1100);
    await expect(trust.verify(await tokenFor(b))).resolves.toMatchObject({ claims: { iss: ISS } });
    expect(s.fetches.jwks).toBe(3);
  });

  it('a key endpoint that is down fails closed (503) and is not hammered', async () => {
    const s = await server();
    s.setDown(true);
    const trust = remoteTrust(s, { cooldownSeconds: 30 });
    for (let i = 0; i < 5; i++) {
      expect(await codeOf(trust.verify(await tokenFor(a)))).toEqual({ code: 'jwks_unavailable', status: 503 });
    }
    expect(s.fetches.jwks).toBe(1);
  });

  it('an unreachable key endpoint fails closed (503)', async () => {
    const s = await server();
    const trust = remoteTrust(s);
    await s.close();
    servers.splice(servers.indexOf(s), 1);
    expect(await codeOf(trust.verify(await tokenFor(a)))).toEqual({ code: 'jwks_unavailable', status: 503 });
  });
});

describe('OpenID discovery', () => {
  const discoveryTrust = (issuer: string, jwks: Record<string, number> = {}) =>
    new TrustMap([issuerConfig({ issuer, discovery: true, jwks })], { now: () => NOW });
  const tokenOf = (issuer: string, key: KeyPair = a) => signToken({ iss: issuer, aud: 'claimgate' }, { key });

  it('discovery URL is trailing-slash aware', () => {
    expect(discoveryUrl('https://idp.test')).toBe('https://idp.test/.well-known/openid-configuration');
    expect(discoveryUrl('https://idp.test/')).toBe('https://idp.test/.well-known/openid-configuration');
    expect(discoveryUrl('https://idp.test/realms/x/')).toBe('https://idp.test/realms/x/.well-known/openid-configuration');
  });

  it('discovers jwks_uri once, lazily, and caches the keys', async () => {
    const s = await server();
    const issuer = `${s.url}/realms/acme`;
    const trust = discoveryTrust(issuer);
    expect(s.fetches.discovery).toBe(0);
    await Promise.all(Array.from({ length: 5 }, async () => trust.verify(await tokenOf(issuer))));
    for (let i = 0; i < 10; i++) await trust.verify(await tokenOf(issuer));
    expect(s.fetches).toEqual({ discovery: 1, jwks: 1 });
  });

  it('an issuer with a trailing slash discovers at <issuer>.well-known, not <issuer>/.well-known', async () => {
    const s = await server();
    const issuer = `${s.url}/tenant/`;
    s.setDiscovery({ issuer });
    const trust = discoveryTrust(issuer);
    await expect(trust.verify(await tokenOf(issuer))).resolves.toMatchObject({ claims: { iss: issuer } });
    expect(s.fetches.discovery).toBe(1);
  });

  it('refuses metadata naming another issuer, and retries at most once per cooldown', async () => {
    const s = await server();
    s.setDiscovery({ issuer: 'https://evil.test' });
    const trust = discoveryTrust(s.url, { cooldownSeconds: 1 });
    const t = await tokenOf(s.url);
    expect(await codeOf(trust.verify(t))).toEqual({ code: 'jwks_unavailable', status: 503 });
    expect(await codeOf(trust.verify(t))).toEqual({ code: 'jwks_unavailable', status: 503 });
    expect(s.fetches).toEqual({ discovery: 1, jwks: 0 });

    s.setDiscovery({});
    await sleep(1100);
    await expect(trust.verify(t)).resolves.toMatchObject({ claims: { iss: s.url } });
    expect(s.fetches).toEqual({ discovery: 2, jwks: 1 });
  });

  it('refuses a discovered jwks_uri over plain http to a non-loopback host', async () => {
    const s = await server();
    s.setDiscovery({ jwks_uri: 'http://keys.example.com/jwks' });
    const trust = discoveryTrust(s.url);
    expect((await codeOf(trust.verify(await tokenOf(s.url)))).code).toBe('jwks_unavailable');
    expect(s.fetches.jwks).toBe(0);
  });

  it('a slow discovery endpoint times out with jwks_unavailable', async () => {
    const s = await server();
    s.setDelay(3000);
    const trust = discoveryTrust(s.url, { timeoutMs: 200 });
    const started = Date.now();
    expect((await codeOf(trust.verify(await tokenOf(s.url)))).code).toBe('jwks_unavailable');
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
