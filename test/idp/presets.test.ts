import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/app/cli/main.js';
import { parseConfigText } from '../../src/core/config/load.js';
import { compileMapping, evaluateMapping, mappingSchema } from '../../src/core/mapping/index.js';
import { TrustMap } from '../../src/core/tokens/index.js';
import { evaluateOptionsFor } from '../../src/core/config/presets.js';
import { issuerConfig, makeKeyPair, NOW, signToken } from '../helpers/tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'cg-init-'));
const ENV = { SESSION_SECRET: 'x'.repeat(40), GRAPH_CLIENT_SECRET: 'graph-secret', OIDC_CLIENT_SECRET: 'oidc-secret' };

const FILL: Record<string, string> = {
  PUBLIC_URL: 'https://bi.example.com',
  APP_URL: 'http://127.0.0.1:9000',
  TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  ADMIN_GROUP_ID: '9a4e2c1b-0d3f-4e5a-8b6c-7d8e9f0a1b2c',
  ANALYST_GROUP_ID: 'c3b2a190-8f7e-4d6c-9b5a-4f3e2d1c0b9a',
  OKTA_DOMAIN: 'example.okta.com',
  AUDIENCE: 'api://default',
  KEYCLOAK_HOST: 'sso.example.com',
  REALM: 'corp',
  AUTH0_DOMAIN: 'example.eu.auth0.com',
  API_IDENTIFIER: 'https://bi.example.com/api',
  NAMESPACE: 'bi.example.com',
  DOMAIN: 'example.com',
  ADMIN_EMAIL: 'admin@example.com',
};
const CLIENT_IDS: Record<string, string> = {
  entra: '6e74172b-be56-4843-9ff4-e66a39bb12e3',
  okta: '0oa1b2c3d4e5f6g7h8i9',
  keycloak: 'bi-portal', // a dash: the quoting trap the starter must avoid
  auth0: 'xJ2kq9Lz0pQ7',
  google: '1234567890-abc.apps.googleusercontent.com',
};

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (s) => out.push(s), err: (s) => err.push(s), env: ENV });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function fill(text: string, preset: string): string {
  return text.replace(/<([A-Z0-9_]+)>/g, (_m, name: string) => {
    const value = name === 'CLIENT_ID' ? CLIENT_IDS[preset] : FILL[name];
    if (value === undefined) throw new Error(`no value for placeholder ${name}`);
    return value;
  });
}

describe('claimgate init --preset', () => {
  for (const preset of ['entra', 'okta', 'keycloak', 'auth0', 'google']) {
    it(`${preset}: prints a commented starter that check-config accepts once filled in`, async () => {
      const r = await cli(['init', '--preset', preset]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^# /m);
      expect(r.out).toContain(`preset: ${preset}`);
      expect(r.out).toMatch(/<[A-Z_]+>/); // placeholders to fill in
      const file = join(dir, `${preset}.yaml`);
      writeFileSync(file, fill(r.out, preset));
      const checked = await cli(['check-config', '--config', file]);
      expect(checked.err).toMatch(/valid/);
      expect(checked.code).toBe(0);
    });
  }

  it('refuses an unknown preset', async () => {
    const r = await cli(['init', '--preset', 'ping']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/entra, okta, keycloak, auth0, google/);
  });

  const starterConfig = async (preset: string) => parseConfigText(fill((await cli(['init', '--preset', preset])).out, preset), ENV);

  it('the keycloak starter maps realm and client roles of a Keycloak access token', async () => {
    const config = await starterConfig('keycloak');
    const mapping = compileMapping(config.mappings.keycloak!);
    const outcome = evaluateMapping(mapping, {
      sub: 'f:1c8b:ada',
      preferred_username: 'ada',
      realm_access: { roles: ['offline_access', 'bi-analyst'] },
      resource_access: { 'bi-portal': { roles: ['admin'] }, account: { roles: ['manage-account'] } },
    });
    expect(outcome.allowed && outcome.user.roles).toEqual(['analyst', 'admin']);
    expect(config.issuers[0]!.acceptAzpAsAudience).toBe(true);
    expect(config.issuers[0]!.discovery).toBe(true);
  });

  it('the auth0 starter maps namespaced roles and permissions', async () => {
    const config = await starterConfig('auth0');
    const outcome = evaluateMapping(compileMapping(config.mappings.auth0!), {
      sub: 'auth0|64f0c0ffee',
      'https://bi.example.com/roles': ['bi-admin'],
      'https://bi.example.com/email': 'ada@example.com',
      permissions: ['read:reports', 'write:reports'],
    });
    expect(outcome.allowed && outcome.user.roles).toEqual(['admin']);
    expect(outcome.allowed && outcome.user.permissions).toEqual(['read_reports']);
    expect(outcome.allowed && outcome.user.profile.email).toBe('ada@example.com');
  });
});

describe('check-config explains claim names JMESPath cannot read unquoted', () => {
  const base = (from: string) => `publicUrl: https://bi.example.com
session: { secret: \${SESSION_SECRET} }
upstream: { url: http://127.0.0.1:9000 }
mappings:
  corp:
    user: { usercode: sub }
    roles:
      - { from: ${from}, map: { a: b } }
`;
  it('a dash in a Keycloak client id', async () => {
    const file = join(dir, 'dash.yaml');
    writeFileSync(file, base('resource_access.bi-portal.roles'));
    const r = await cli(['check-config', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('"bi-portal" contains "-", which JMESPath reads as a minus sign');
    expect(r.err).toContain('resource_access."bi-portal".roles');
    expect(r.err).not.toContain('NaN');
  });
  it('an Auth0 namespaced claim', async () => {
    const file = join(dir, 'ns.yaml');
    writeFileSync(file, base('"https://bi.example.com/roles"'));
    const r = await cli(['check-config', '--config', file]);
    expect(r.err).toContain('write it in double quotes: "https://bi.example.com/roles"');
  });
});

describe('preset checks in the trust map', () => {
  it('keycloak: azp satisfies audiences (aud "account"), unless acceptAzpAsAudience is turned off', async () => {
    const key = await makeKeyPair('RS256');
    const claims = { iss: 'https://sso.example.com/realms/corp', aud: 'account', azp: 'bi-portal', typ: 'Bearer', realm_access: { roles: ['x'] } };
    const token = await signToken(claims, { key, typ: 'JWT' });
    const base = { issuer: 'https://sso.example.com/realms/corp', audiences: ['bi-portal'], keys: [key.publicJwk], preset: 'keycloak' };
    const tm = new TrustMap([issuerConfig(base)], { now: () => NOW });
    expect((await tm.verify(token)).claims.azp).toBe('bi-portal');
    const strict = new TrustMap([issuerConfig({ ...base, acceptAzpAsAudience: false })], { now: () => NOW });
    await expect(strict.verify(token)).rejects.toMatchObject({ code: 'audience_mismatch' });
    const other = await signToken({ ...claims, azp: 'someone-else' }, { key, typ: 'JWT' });
    await expect(tm.verify(other)).rejects.toMatchObject({ code: 'audience_mismatch' });
  });

  it('google: the hd claim must be a listed hosted domain', async () => {
    const key = await makeKeyPair('RS256');
    const cfg = issuerConfig({ preset: 'google', issuer: 'https://accounts.google.com', audiences: ['cid.apps.googleusercontent.com'], keys: [key.publicJwk], google: { hostedDomains: ['example.com'] } });
    const tm = new TrustMap([cfg], { now: () => NOW });
    const sign = (extra: Record<string, unknown>) =>
      signToken({ iss: 'https://accounts.google.com', aud: 'cid.apps.googleusercontent.com', azp: 'cid.apps.googleusercontent.com', email: 'ada@example.com', email_verified: true, ...extra }, { key, typ: 'JWT' });
    await expect(tm.verify(await sign({ hd: 'example.com' }))).resolves.toMatchObject({ claims: { hd: 'example.com', email: 'ada@example.com' } });
    await expect(tm.verify(await sign({ hd: 'evil.example' }))).rejects.toMatchObject({ code: 'hosted_domain_not_allowed' });
    await expect(tm.verify(await sign({}))).rejects.toMatchObject({ code: 'hosted_domain_not_allowed' }); // a gmail.com account
  });

  it("a preset's defaults yield to what the issuer states", () => {
    const okta = issuerConfig({ preset: 'okta', issuer: 'https://example.okta.com/oauth2/default', jwksUri: 'https://example.okta.com/oauth2/default/v1/keys', algorithms: ['ES256'] });
    expect(okta.discovery).toBeUndefined();
    expect(okta.algorithms).toEqual(['ES256']);
    const defaults = issuerConfig({ preset: 'okta', issuer: 'https://example.okta.com/oauth2/default', algorithms: undefined });
    expect(defaults.discovery).toBe(true);
    expect(defaults.algorithms).toEqual(['RS256']);
    const entra = issuerConfig({ preset: 'entra', issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', algorithms: undefined, entra: { tenants: ['72f988bf-86f1-41af-91ab-2d7cd011db47'] } });
    expect(entra.jwksUri).toBe('https://login.microsoftonline.com/common/discovery/v2.0/keys');
  });
});

describe('missing versus empty claims in the mapping trace', () => {
  const mapping = compileMapping(
    mappingSchema.parse({ user: { usercode: 'sub' }, roles: [{ from: 'groups', map: { 'bi-admins': 'admin' } }, { default: ['viewer'] }] }),
  );
  const detail = (claims: Record<string, unknown>, preset?: 'okta' | 'entra') => {
    const outcome = evaluateMapping(mapping, { sub: 'u1', ...claims }, evaluateOptionsFor(preset ? { preset } : undefined));
    return outcome.trace.find((t) => t.path === 'roles[0]')!;
  };
  it('okta: an absent groups claim is read as empty, and the trace says so', () => {
    expect(detail({}, 'okta')).toMatchObject({ outcome: 'empty', detail: expect.stringContaining('read as empty') });
  });
  it('an empty list is an empty list, not an absence', () => {
    expect(detail({ groups: [] }, 'okta').detail).toBe('groups yielded nothing');
  });
  it('entra: groups left out by overage are unknown, not empty', () => {
    const t = detail({ _claim_names: { groups: 'src1' }, _claim_sources: { src1: { endpoint: 'https://graph.windows.net/x' } } }, 'entra');
    expect(t.detail).toContain('unknown, not empty');
  });
  it('another claim listed in _claim_names is unknown, and the trace does not promise a refusal nothing makes', () => {
    const roles = compileMapping(mappingSchema.parse({ user: { usercode: 'sub' }, roles: [{ from: 'wids', map: { x: 'admin' } }] }));
    const outcome = evaluateMapping(roles, { sub: 'u1', _claim_names: { wids: 'src1' } }, evaluateOptionsFor({ preset: 'entra' }));
    const t = outcome.trace.find((x) => x.path === 'roles[0]')!;
    expect(t.detail).toContain('unknown, not empty');
    expect(t.detail).not.toContain('refused');
    expect(t.detail).toContain('only groups');
  });
  it('without a preset the absence is stated as such', () => {
    expect(detail({}).detail).toBe('claim "groups" is absent from the token: no values');
  });
});

describe('check-config rules of provider keys', () => {
  const cfg = (issuer: string) => `publicUrl: https://bi.example.com
session: { secret: \${SESSION_SECRET} }
upstream: { url: http://127.0.0.1:9000 }
issuers:
  - ${issuer}
mappings:
  corp: { user: { usercode: sub } }
`;
  const check = async (issuer: string) => {
    const file = join(dir, `rules-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, cfg(issuer));
    return cli(['check-config', '--config', file]);
  };
  it('a {tenantid} issuer needs the entra preset and a tenant list', async () => {
    const r = await check('{ id: e, issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", audiences: [a], jwksUri: https://login.microsoftonline.com/common/discovery/v2.0/keys, algorithms: [RS256], mapping: corp }');
    expect(r.code).toBe(1);
    expect(r.err).toContain('issuers[0].issuer: "{tenantid}" is only understood for Entra ID issuers');
    expect(r.err).toContain('issuers[0].entra.tenants: must list the allowed tenant ids');
  });
  it('graph needs exactly one of clientSecret or privateKey; an unknown preset is named', async () => {
    const r = await check('{ id: e, preset: entra, issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", audiences: [a], mapping: corp, entra: { tenants: [72f988bf-86f1-41af-91ab-2d7cd011db47], graph: { clientId: c } } }');
    expect(r.err).toContain('issuers[0].entra.graph: needs exactly one of clientSecret or privateKey');
    const p = await check('{ id: e, preset: ping, issuer: https://idp.example.com, audiences: [a], discovery: true, algorithms: [RS256], mapping: corp }');
    expect(p.err).toMatch(/issuers\[0\]\.preset: must be one of "entra", "okta", "keycloak", "auth0", "google"/);
  });
});
