import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { exportSPKI } from 'jose';
import { TokenError } from '../../src/core/errors/errors.js';
import { TrustMap, type VerifyOptions } from '../../src/core/tokens/index.js';
import {
  NOW,
  encryptedToken,
  issuerConfig,
  makeKeyPair,
  signToken,
  unsignedToken,
  type KeyPair,
} from '../helpers/tokens.js';

/**
 * One row per known attack on JWT verification (docs/security-model.md): each must be refused with its stable code, as a
 * TokenError whose public message never contains the token.
 */

const ISS = 'https://idp.test';
const HS_ISS = 'https://hs.test';
const SECRET = 'an-hmac-secret-of-at-least-32-bytes!!';
const base = { iss: ISS, aud: 'claimgate' };

let good: KeyPair;
let attacker: KeyPair;
let rs384: KeyPair;
let trust: TrustMap;

beforeAll(async () => {
  good = await makeKeyPair('RS256', 'good-kid');
  attacker = await makeKeyPair('RS256', 'attacker-kid');
  rs384 = await makeKeyPair('RS384', 'rs384-kid');
  trust = new TrustMap(
    [
      issuerConfig({ issuer: ISS, keys: [good.publicJwk, rs384.publicJwk], maxTokenAgeSeconds: 3600 }),
      issuerConfig({ id: 'hs', issuer: HS_ISS, algorithms: ['HS256'], sharedSecret: SECRET }),
    ],
    { now: () => NOW, publicUrl: 'https://gateway.test' },
  );
});

async function refusal(token: string, opts?: VerifyOptions): Promise<TokenError> {
  try {
    await trust.verify(token, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(TokenError);
    return e as TokenError;
  }
  throw new Error('the token was accepted');
}

const b64 = (n: number) => randomBytes(n).toString('base64url');

interface Row {
  attack: string;
  token: () => Promise<string>;
  code: string;
  opts?: VerifyOptions;
}

const rows: Row[] = [
  { attack: 'alg none (unsigned JWT)', token: async () => unsignedToken(base), code: 'algorithm_not_allowed' },
  {
    attack: 'HS256 signed with the RSA public key PEM as the secret',
    token: async () => {
      const pem = await exportSPKI(good.publicKey);
      return signToken(base, { key: new TextEncoder().encode(pem), alg: 'HS256', kid: good.kid });
    },
    code: 'algorithm_not_allowed',
  },
  {
    attack: 'RS256 token presented to an HS256 issuer',
    token: () => signToken({ iss: HS_ISS, aud: 'claimgate' }, { key: good }),
    code: 'algorithm_not_allowed',
  },
  {
    attack: 'alg outside the allowlist (RS384 key in the set, only RS256 allowed)',
    token: () => signToken(base, { key: rs384 }),
    code: 'algorithm_not_allowed',
  },
  {
    attack: 'jku header pointing to attacker keys',
    token: () => signToken(base, { key: attacker, kid: good.kid, header: { jku: 'https://attacker.test/jwks' } }),
    code: 'token_malformed',
  },
  {
    attack: 'x5u header pointing to an attacker certificate',
    token: () => signToken(base, { key: attacker, kid: good.kid, header: { x5u: 'https://attacker.test/cert.pem' } }),
    code: 'token_malformed',
  },
  {
    attack: 'embedded jwk header with the attacker key',
    token: () => signToken(base, { key: attacker, kid: null, header: { jwk: attacker.publicJwk } }),
    code: 'token_malformed',
  },
  {
    attack: 'x5c header with attacker key material',
    token: async () => {
      const der = (await exportSPKI(attacker.publicKey)).replace(/-----[^-]+-----|\s/g, '');
      return signToken(base, { key: attacker, kid: good.kid, header: { x5c: [der] } });
    },
    code: 'token_malformed',
  },
  {
    attack: 'unknown crit extension',
    token: () =>
      signToken(base, {
        key: good,
        header: { crit: ['urn:example:ext'], 'urn:example:ext': true },
        crit: { 'urn:example:ext': true },
      }),
    code: 'token_malformed',
  },
  { attack: 'expired', token: () => signToken(base, { key: good, now: NOW - 600, ttl: 60 }), code: 'token_expired' },
  {
    attack: 'nbf in the future (beyond the tolerance)',
    token: () => signToken({ ...base, nbf: NOW + 120 }, { key: good }),
    code: 'token_not_yet_valid',
  },
  {
    attack: 'iat in the future (beyond the tolerance)',
    token: () => signToken({ ...base, iat: NOW + 120 }, { key: good }),
    code: 'token_not_yet_valid',
  },
  {
    attack: 'wrong iss',
    token: () => signToken({ ...base, iss: 'https://evil.test' }, { key: good }),
    code: 'issuer_unknown',
  },
  {
    attack: 'issuer other than the one expected (issuerId)',
    token: () => signToken(base, { key: good }),
    code: 'issuer_unknown',
    opts: { issuerId: 'hs' },
  },
  { attack: 'wrong aud', token: () => signToken({ ...base, aud: 'other-app' }, { key: good }), code: 'audience_mismatch' },
  { attack: 'missing aud', token: () => signToken({ iss: ISS }, { key: good }), code: 'audience_mismatch' },
  { attack: 'missing exp', token: () => signToken(base, { key: good, noExp: true }), code: 'token_malformed' },
  { attack: 'missing sub', token: () => signToken(base, { key: good, noSub: true }), code: 'token_malformed' },
  { attack: 'empty sub', token: () => signToken({ ...base, sub: '' }, { key: good }), code: 'token_malformed' },
  {
    attack: 'token too large',
    token: () => signToken({ ...base, padding: 'x'.repeat(20000) }, { key: good }),
    code: 'token_malformed',
  },
  { attack: 'garbage', token: async () => `garbage ${b64(40)}`, code: 'token_malformed' },
  { attack: 'base64url garbage in three parts', token: async () => `${b64(30)}.${b64(30)}.${b64(30)}`, code: 'token_malformed' },
  {
    attack: '2-part string (signature cut off)',
    token: async () => (await signToken(base, { key: good })).split('.').slice(0, 2).join('.'),
    code: 'token_malformed',
  },
  { attack: '5-part string (JWE)', token: () => encryptedToken(base), code: 'token_malformed' },
  {
    attack: 'signed by an unknown key with a known kid',
    token: () => signToken(base, { key: attacker, kid: good.kid }),
    code: 'signature_invalid',
  },
  {
    attack: 'signed by an unknown key with an unknown kid',
    token: () => signToken(base, { key: attacker }),
    code: 'signature_invalid',
  },
  {
    attack: 'payload swapped under a valid signature',
    token: async () => {
      const [h, , s] = (await signToken(base, { key: good })).split('.');
      const [, p] = (await signToken({ ...base, sub: 'admin' }, { key: attacker, kid: good.kid })).split('.');
      return `${h}.${p}.${s}`;
    },
    code: 'signature_invalid',
  },
  {
    attack: 'maxTokenAge exceeded',
    token: () => signToken(base, { key: good, now: NOW - 4000, ttl: 8000 }),
    code: 'token_too_old',
  },
  {
    attack: 'missing iat with maxTokenAge configured',
    token: () => signToken(base, { key: good, noIat: true }),
    code: 'token_malformed',
  },
  {
    attack: 'SSO link older than ssoLink.maxTokenAgeSeconds',
    token: () => signToken(base, { key: good, now: NOW - 600, ttl: 3600 }),
    code: 'token_too_old',
    opts: { purpose: 'sso' },
  },
  {
    attack: 'back-channel logout token (typ logout+jwt)',
    token: () => signToken(base, { key: good, typ: 'logout+jwt' }),
    code: 'token_malformed',
  },
  {
    attack: 'back-channel logout token (events claim)',
    token: () =>
      signToken({ ...base, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } }, { key: good }),
    code: 'token_malformed',
  },
];

describe('TrustMap refuses attacks', () => {
  it.each(rows)('$attack → $code', async ({ token, code, opts }) => {
    const t = await token();
    const err = await refusal(t, opts);
    expect(err.code).toBe(code);
    expect(err.status).toBe(401);
    expect(err.publicMessage).not.toContain(t);
    for (const part of t.split('.')) if (part.length > 8) expect(err.publicMessage).not.toContain(part);
  });

  it('the oversized-token refusal says the token is too large', async () => {
    const t = await signToken({ ...base, padding: 'x'.repeat(20000) }, { key: good });
    expect((await refusal(t)).publicMessage).toMatch(/too large/);
  });

  it('the same tokens are refused when presented as bearer tokens, and refusals are not cached', async () => {
    const t = await signToken(base, { key: attacker, kid: good.kid });
    expect((await refusal(t, { purpose: 'bearer' })).code).toBe('signature_invalid');
    expect((await refusal(t, { purpose: 'bearer' })).code).toBe('signature_invalid');
  });

  it('control: a well-formed token from the same issuer is accepted', async () => {
    const ok = await trust.verify(await signToken(base, { key: good }));
    expect(ok.claims.sub).toBe('user-1');
  });
});
