import { describe, it, expect } from '@jest/globals';
import { parseConfigObject } from '../../src/core/config/load.js';
import { ConfigError } from '../../src/core/config/problems.js';

const base = (oidc: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  publicUrl: 'http://gateway.test',
  session: { secret: 's'.repeat(40) },
  upstream: { url: 'http://127.0.0.1:9000' },
  issuers: [{ id: 'idp', issuer: 'http://127.0.0.1:4000', audiences: ['claimgate'], discovery: true, algorithms: ['RS256'], mapping: 'm', oidc, ...extra }],
  mappings: { m: { user: { usercode: 'sub' } } },
});

const problems = (raw: unknown): string[] => {
  try {
    parseConfigObject(raw, {});
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
};

describe('oidc configuration', () => {
  it('accepts a client with a secret whose id is one of the audiences', () => {
    expect(problems(base({ clientId: 'claimgate', clientSecret: 'x' }))).toEqual([]);
  });
  it('names every problem with its path', () => {
    const p = problems(base({ clientId: 'other', responseMode: 'form_post', scopes: ['profile'] }));
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^issuers\[0\]\.oidc\.clientSecret: is required/),
        expect.stringMatching(/^issuers\[0\]\.oidc\.responseMode: form_post requires an https publicUrl/),
        expect.stringMatching(/^issuers\[0\]\.oidc\.scopes: must include "openid"/),
        expect.stringMatching(/^issuers\[0\]\.audiences: must include oidc\.clientId "other"/),
      ]),
    );
  });
  it('private_key_jwt needs the private key', () => {
    expect(problems(base({ clientId: 'claimgate', authMethod: 'private_key_jwt' }))).toEqual([expect.stringMatching(/oidc\.privateKey: is required/)]);
  });
});
