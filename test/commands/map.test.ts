import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliIo } from '../../src/app/cli/main.js';
import { openDatabase } from '../../src/store/db/index.js';
import { UserStore } from '../../src/store/users/index.js';
import { makeKeyPair, signToken, type KeyPair } from '../helpers/tokens.js';
import { startGraphStandIn, type GraphStandIn } from '../helpers/graph-stand-in.js';

const CLAIM = 'https://www.panintelligence.com/claims/userSyncPayload';
const ISS = 'https://idp.example.com';

/** Runs the CLI in-process with captured output and an environment without DATABASE_URL (embedded store). */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (s) => out.push(s), err: (s) => err.push(s), env: { SESSION_SECRET: 'k'.repeat(40) } };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('claimgate map', () => {
  let dir: string;
  let config: string;
  let key: KeyPair;
  const payload = (roles: unknown[], extra: Record<string, unknown> = {}) => [
    {
      user: { usercode: 'JWTAUTH', forenames: 'Jwt', surname: 'Auth', email: 'jwt@auth.com', allowExternalLogin: true, editCharts: true, ...extra },
      variables: [],
      restrictions: ['region-eu'],
      userRoles: roles,
      userCategories: [{ name: 'Finance' }],
    },
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cg-map-'));
    key = await makeKeyPair('RS256', 'k1');
    config = join(dir, 'claimgate.yaml');
    const P = `'"${CLAIM}"[0]'`;
    writeFileSync(
      config,
      `publicUrl: https://bi.example.com
session: { secret: \${SESSION_SECRET} }
upstream: { url: http://127.0.0.1:9000 }
database: { dataDir: ${join(dir, 'data')} }
issuers:
  - id: corp
    issuer: ${ISS}
    audiences: [claimgate]
    keys: [${JSON.stringify(key.publicJwk)}]
    algorithms: [RS256]
    mapping: pi
mappings:
  pi:
    require:
      - expr: ${P.slice(0, -1)}.user.allowExternalLogin == \`true\`'
        message: External login is disabled for this account
    user:
      usercode: ${P.slice(0, -1)}.user.usercode'
      firstName: ${P.slice(0, -1)}.user.forenames'
      lastName: ${P.slice(0, -1)}.user.surname'
      email: ${P.slice(0, -1)}.user.email'
    roles:
      - from: ${P.slice(0, -1)}.userRoles[]'
        map: { Analyst: analyst, Designer: designer }
      - from: ${P.slice(0, -1)}.userRoles[]'
        pattern: "^team-(.+)$"
        to: "team_$1"
      - default: [viewer]
    permissions:
      - when: ${P.slice(0, -1)}.user.editCharts'
        add: [editCharts]
    attributes:
      categories: ${P.slice(0, -1)}.userCategories[*].name'
      restrictions: ${P.slice(0, -1)}.restrictions'
`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const token = (claims: Record<string, unknown>, opts: { exp?: number } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return signToken({ iss: ISS, aud: 'claimgate', sub: '00u1', ...claims }, { key, now, ...(opts.exp ? { ttl: opts.exp } : {}) });
  };

  it('prints the desired user, the rule behind each role and the trace for a namespaced payload claim', async () => {
    const jwt = await token({ [CLAIM]: payload(['Analyst', 'team-blue']) });
    const r = await cli(['map', '--config', config, '--issuer', 'corp', '--token', jwt]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/result: +allowed; would CREATE the user "JWTAUTH"/);
    expect(r.out).toMatch(/^ {2}\+ analyst +<- roles\[0\]$/m);
    expect(r.out).toMatch(/^ {2}\+ team_blue +<- roles\[1\]$/m);
    expect(r.out).not.toMatch(/viewer/);
    expect(r.out).toMatch(/^ {2}\+ editCharts +<- permissions\[0\]$/m);
    expect(r.out).toMatch(/categories +Finance/);
    expect(r.out).toMatch(/roles\[2\] +no-match/);
    expect(r.err).toMatch(/no embedded database/);
    // A dry run creates nothing, not even the embedded data directory.
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('--json prints one document with desired, diff, producedBy and trace', async () => {
    const jwt = await token({ [CLAIM]: payload([]) });
    const r = await cli(['map', '--config', config, '--issuer', 'corp', '--token', jwt, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.allowed).toBe(true);
    expect(doc.desired).toMatchObject({ usercode: 'JWTAUTH', roles: ['viewer'], permissions: ['editCharts'] });
    expect(doc.desired.attributes).toEqual({ categories: ['Finance'], restrictions: ['region-eu'] });
    expect(doc.producedBy.roles).toEqual({ viewer: ['roles[2]'] });
    expect(doc.diff.create).toBe(true);
    expect(doc.current).toBeNull();
  });

  it('exits 3 with the rule and its message when a require denies', async () => {
    const jwt = await token({ [CLAIM]: payload(['Analyst'], { allowExternalLogin: false }) });
    const r = await cli(['map', '--config', config, '--issuer', 'corp', '--token', jwt]);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/DENIED by require\[0\] \(login_denied\): External login is disabled/);
  });

  it('exits 2 with the refusal code for a refused token', async () => {
    const other = await makeKeyPair('RS256', 'k1');
    const forged = await signToken({ iss: ISS, aud: 'claimgate', [CLAIM]: payload([]) }, { key: other, now: Math.floor(Date.now() / 1000) });
    const r = await cli(['map', '--config', config, '--issuer', 'corp', '--token', forged]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/token refused: signature_invalid/);
    const expired = await signToken({ iss: ISS, aud: 'claimgate' }, { key, now: Math.floor(Date.now() / 1000) - 4000 });
    expect((await cli(['map', '--config', config, '--issuer', 'corp', '--token', expired])).err).toMatch(/token_expired/);
  });

  it('takes --claims from a file and compares with the stored user, writing nothing', async () => {
    const claimsFile = join(dir, 'claims.json');
    writeFileSync(claimsFile, JSON.stringify({ iss: ISS, sub: '00u1', [CLAIM]: payload(['Designer']) }));
    const dataDir = join(dir, 'data');
    const db = await openDatabase({ url: '', dataDir, poolMax: 1, connectionTimeoutMs: 5000, statementTimeoutMs: 15000 });
    try {
      await db.migrate();
      const users = new UserStore(db);
      await users.loginSync({
        issuerId: 'corp', iss: ISS, sub: '00u1', source: 'mapping:corp', createUsers: true, linkExistingUsers: false,
        desired: { usercode: 'JWTAUTH', profile: { firstName: 'Old' }, sync: {}, roles: ['analyst'], permissions: [], attributes: {} },
      });
    } finally {
      await db.close();
    }
    const r = await cli(['map', '--config', config, '--issuer', 'corp', '--claims', claimsFile, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.current.usercode).toBe('JWTAUTH');
    expect(doc.diff.create).toBe(false);
    expect(doc.diff.roles).toMatchObject({ added: ['designer'], removed: ['analyst'] });
    expect(doc.diff.profile.firstName).toEqual({ before: 'Old', after: 'Jwt' });

    const db2 = await openDatabase({ url: '', dataDir, poolMax: 1, connectionTimeoutMs: 5000, statementTimeoutMs: 15000 });
    try {
      const u = await new UserStore(db2).getByUsercode('JWTAUTH');
      expect(u!.roles.map((g) => g.name)).toEqual(['analyst']);
      expect(u!.firstName).toBe('Old');
    } finally {
      await db2.close();
    }
  });

  it('names the problem for bad arguments', async () => {
    expect((await cli(['map', '--config', config, '--token', 'x'])).err).toMatch(/--issuer ID is required/);
    expect((await cli(['map', '--config', config, '--issuer', 'nope', '--token', 'x'])).err).toMatch(/unknown issuer "nope" \(known: corp\)/);
    expect((await cli(['map', '--config', config, '--issuer', 'corp'])).err).toMatch(/exactly one of --token JWT or --claims FILE/);
    expect((await cli(['map', '--config', config, '--issuer', 'corp', '--claims', '/nonexistent.json'])).err).toMatch(/file not found/);
    const r = await cli(['map', '--config', config, '--issuer', 'corp', '--token', 'garbage']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/token_malformed/);
  });
});

describe('claimgate map runs the checks /sso makes (without consuming the jti)', () => {
  let dir: string;
  let config: string;
  let key: KeyPair;
  const now = () => Math.floor(Date.now() / 1000);
  const link = (claims: Record<string, unknown> = {}, at = now()) =>
    signToken({ iss: ISS, aud: 'claimgate', sub: 'u1', name: 'Ada', ...claims }, { key, now: at, ttl: 3600 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cg-map-link-'));
    key = await makeKeyPair('RS256', 'k1');
    config = join(dir, 'claimgate.yaml');
    writeFileSync(
      config,
      `publicUrl: https://bi.example.com
session: { secret: \${SESSION_SECRET} }
upstream: { url: http://127.0.0.1:9000 }
database: { dataDir: ${join(dir, 'data')} }
issuers:
  - id: corp
    issuer: ${ISS}
    audiences: [claimgate]
    keys: [${JSON.stringify(key.publicJwk)}]
    algorithms: [RS256]
    ssoLink: { enabled: true, maxTokenAgeSeconds: 120 }
    mapping: m
mappings:
  m:
    user: { usercode: sub }
    roles: [{ default: [viewer] }]
`,
    );
    const db = await openDatabase({ url: '', dataDir: join(dir, 'data'), poolMax: 1, connectionTimeoutMs: 5000, statementTimeoutMs: 15000 });
    try {
      await db.migrate();
      await db.knex('used_jtis').insert({ issuer_id: 'corp', jti: 'used-once', expires_at: new Date(Date.now() + 3600_000) });
    } finally {
      await db.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const map = (jwt: string, ...more: string[]) => cli(['map', '--config', config, '--issuer', 'corp', '--token', jwt, ...more]);

  it('a link without jti is refused as /sso refuses it; --as bearer checks it as a bearer token', async () => {
    const jwt = await link();
    const r = await map(jwt);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/token refused as a sign-in link: jti_missing/);
    expect((await map(jwt, '--as', 'bearer')).code).toBe(0);
  });

  it('an already used jti is refused; a fresh one passes and stays unused', async () => {
    const used = await map(await link({ jti: 'used-once' }), '--json');
    expect(used.code).toBe(2);
    expect(JSON.parse(used.out).refused.code).toBe('jti_replayed');
    const fresh = await link({ jti: 'fresh-1' });
    const r = await map(fresh);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ {2}jti_unused +passed - looked up, not consumed$/m);
    expect((await map(fresh)).code).toBe(0);
  });

  it('a link older than ssoLink.maxTokenAgeSeconds is refused (link age), as at /sso', async () => {
    const r = await map(await link({ jti: 'old-1' }, now() - 300));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/token_too_old/);
  });

  it('issuer_unknown and audience_mismatch show the token value beside the configured ones', async () => {
    const slash = await map(await link({ jti: 'j2', iss: `${ISS}/` }));
    expect(slash.err).toContain(`issuer_unknown`);
    expect(slash.err).toContain(`token iss "${ISS}/"; configured: "${ISS}"`);
    const aud = await map(await link({ jti: 'j3', aud: 'someone-else' }));
    expect(aud.err).toContain('audience_mismatch');
    expect(aud.err).toContain('token aud "someone-else"; accepted: "claimgate"');
  });
});

describe('claimgate map names the group GUIDs of an Entra mapping', () => {
  const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const GRAPH_CLIENT = '0b1d3c6e-5d2a-4c53-8a57-2a1b3c4d5e6f';
  const GRAPH_SECRET = 'graph-secret-value-0123456789';
  const G_ADMINS = '9a4e2c1b-0d3f-4e5a-8b6c-7d8e9f0a1b2c';
  const G_ANALYSTS = 'c3b2a190-8f7e-4d6c-9b5a-4f3e2d1c0b9a';
  const G_TABLE = '11111111-2222-4333-8444-555555555555';
  let dir: string;
  let graph: GraphStandIn;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cg-map-labels-'));
    graph = await startGraphStandIn({ clientId: GRAPH_CLIENT, clientSecret: GRAPH_SECRET });
    graph.memberships.set('someone', [
      { id: G_ADMINS, displayName: 'BI Admins' },
      { id: G_ANALYSTS, displayName: 'BI Analysts' },
      { id: G_TABLE, displayName: 'Name in Graph' },
    ]);
    const key = await makeKeyPair('RS256', 'entra-1');
    writeFileSync(
      join(dir, 'claimgate.yaml'),
      `publicUrl: https://bi.example.com
session: { secret: \${SESSION_SECRET} }
upstream: { url: http://127.0.0.1:9000 }
database: { dataDir: ${join(dir, 'data')} }
issuers:
  - id: entra
    preset: entra
    issuer: https://login.microsoftonline.com/${TID}/v2.0
    audiences: [6e74172b-be56-4843-9ff4-e66a39bb12e3]
    keys: [${JSON.stringify(key.publicJwk)}]
    mapping: entra
    entra:
      tenants: [${TID}]
      graph: { clientId: ${GRAPH_CLIENT}, clientSecret: ${GRAPH_SECRET}, authorityUrl: '${graph.url}', graphUrl: '${graph.url}' }
mappings:
  entra:
    groupLabels: { ${G_TABLE}: Name in the table }
    user: { usercode: preferred_username }
    roles:
      - { from: groups, map: { ${G_ADMINS}: admin, ${G_TABLE}: auditor } }
      - { default: [viewer] }
`,
    );
    writeFileSync(join(dir, 'claims.json'), JSON.stringify({ sub: 's', tid: TID, oid: 'someone', preferred_username: 'ada@contoso.example', groups: [G_ANALYSTS] }));
  });
  afterAll(async () => {
    await graph?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('from the mapping\'s groupLabels first, else from Microsoft Graph', async () => {
    const args = ['map', '--config', join(dir, 'claimgate.yaml'), '--issuer', 'entra', '--claims', join(dir, 'claims.json')];
    const json = await cli([...args, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out).groupLabels).toEqual({ [G_ADMINS]: 'BI Admins', [G_ANALYSTS]: 'BI Analysts', [G_TABLE]: 'Name in the table' });
    expect(graph.requests).toContain('POST /v1.0/directoryObjects/getByIds');
    const text = await cli(args);
    expect(text.out).toContain(`${G_ADMINS}  BI Admins`);
  });
});
