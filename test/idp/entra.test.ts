import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startGraphStandIn, type GraphStandIn } from '../helpers/graph-stand-in.js';
import { makeKeyPair, signToken, type KeyPair } from '../helpers/tokens.js';
import { browse, CookieJar, resignIdToken, startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { ACCOUNTS, oidcIssuer, startLogin, webClient } from '../helpers/oidc-setup.js';

// Identifiers shaped as Entra issues them (GUIDs); the app's client id is the token audience.
const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TID = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a';
const PLAIN_TID = '3c6d4e2a-7b1f-4c8d-9e0a-1b2c3d4e5f60';
const CLIENT_ID = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
const GRAPH_CLIENT = '0b1d3c6e-5d2a-4c53-8a57-2a1b3c4d5e6f';
const GRAPH_SECRET = 'graph-secret-value-0123456789';
const G_ADMINS = '9a4e2c1b-0d3f-4e5a-8b6c-7d8e9f0a1b2c';
const G_ANALYSTS = 'c3b2a190-8f7e-4d6c-9b5a-4f3e2d1c0b9a';
const G_OTHER = ['11111111-2222-4333-8444-555555555555', '66666666-7777-4888-9999-aaaaaaaaaaaa', 'bbbbbbbb-cccc-4ddd-8eee-ffffffffffff'];

const V2 = 'https://login.microsoftonline.com/{tenantid}/v2.0';
const V1 = 'https://sts.windows.net/{tenantid}/';

const MAPPING = {
  user: { usercode: 'preferred_username || upn', displayName: 'name' },
  roles: [
    { from: 'groups', map: { [G_ADMINS]: 'admin', [G_ANALYSTS]: 'analyst', 'BI Admins': 'admin' } },
    { from: 'roles', map: { 'Reports.Read': 'reader' } },
    { default: ['viewer'] },
  ],
};

describe('Entra ID: tenant-templated issuers and group overage through Microsoft Graph', () => {
  let gw: TestGateway;
  let graph: GraphStandIn;
  let signer: KeyPair;

  beforeAll(async () => {
    graph = await startGraphStandIn({ clientId: GRAPH_CLIENT, clientSecret: GRAPH_SECRET });
    const graphBlock = (extra: Record<string, unknown> = {}) => ({
      clientId: GRAPH_CLIENT,
      clientSecret: GRAPH_SECRET,
      authorityUrl: graph.url,
      graphUrl: graph.url,
      timeoutMs: 5000,
      ...extra,
    });
    signer = await makeKeyPair('RS256', 'entra-kid-1');
    const key = signer.publicJwk;
    gw = await startTestGateway({
      mappings: { corp: MAPPING },
      issuers: [
        {
          id: 'entra',
          preset: 'entra',
          issuer: V2,
          audiences: [CLIENT_ID],
          keys: [key],
          ssoLink: { enabled: true },
          mapping: 'corp',
          entra: { tenants: [TID], graph: graphBlock() },
        },
        {
          id: 'entra-v1',
          preset: 'entra',
          issuer: V1,
          audiences: [`api://${CLIENT_ID}`],
          keys: [key],
          ssoLink: { enabled: true },
          mapping: 'corp',
          entra: { tenants: [TID], graph: graphBlock({ groupField: 'displayName', cacheSeconds: 0 }) },
        },
        {
          // Entra's own single-tenant issuer, written without the preset (so sign-in links need a jti): its tokens still say when groups were left out.
          id: 'plain',
          issuer: `https://login.microsoftonline.com/${PLAIN_TID}/v2.0`,
          audiences: [CLIENT_ID],
          keys: [key],
          algorithms: ['RS256'],
          ssoLink: { enabled: true },
          mapping: 'corp',
        },
        {
          id: 'entra-nograph',
          preset: 'entra',
          issuer: `https://login.microsoftonline.com/${OTHER_TID}/v2.0`,
          audiences: [CLIENT_ID],
          keys: [key],
          ssoLink: { enabled: true },
          mapping: 'corp',
        },
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await graph?.close();
  });
  beforeEach(() => {
    graph.failWith = 0;
    graph.throttleNext = 0;
  });

  /** A v2.0 token as the Microsoft identity platform documents it (no jti; uti, oid, tid, ver). */
  const v2Token = (claims: Record<string, unknown>, tid = TID) => {
    const now = Math.floor(Date.now() / 1000);
    return signToken(
      {
        aud: CLIENT_ID,
        iss: `https://login.microsoftonline.com/${tid}/v2.0`,
        iat: now,
        nbf: now,
        exp: now + 3600,
        aio: 'AWQAm/8TAAAA' + randomUUID().replace(/-/g, ''),
        name: 'Ada Lovelace',
        oid: randomUUID(),
        preferred_username: 'ada@contoso.example',
        rh: '0.ARoAv4j5cvGGr0GRqy180BHbR_go.',
        sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
        tid,
        uti: randomUUID().replace(/-/g, '').slice(0, 22),
        ver: '2.0',
        ...claims,
      },
      { key: signer, typ: 'JWT', now },
    );
  };
  /** Overage as Entra sends it: no `groups`, a pointer to where they could be read instead. */
  const overage = (oid: string, tid = TID) => ({
    _claim_names: { groups: 'src1' },
    _claim_sources: { src1: { endpoint: `https://graph.windows.net/${tid}/users/${oid}/getMemberObjects` } },
  });
  const userCount = async () => Number((await gw.db.knex('users').count({ n: '*' }))[0]!.n);
  const usedIds = async () => Number((await gw.db.knex('used_jtis').count({ n: '*' }))[0]!.n);
  const rolesOf = async (usercode: string) => {
    const u = await gw.running.gateway.parts.users.getByUsercode(usercode);
    return (u?.roles ?? []).map((r) => r.name).sort();
  };
  const membersFor = (oid: string, groups: Array<[string, string]>) =>
    graph.memberships.set(oid, groups.map(([id, displayName]) => ({ id, displayName })));

  it('an overage SSO link gets its groups from Graph (paged, throttled once) and is single-use by uti', async () => {
    const oid = randomUUID();
    membersFor(oid, [
      [G_OTHER[0]!, 'Everyone'],
      [G_OTHER[1]!, 'Contoso Staff'],
      [G_OTHER[2]!, 'Building 7'],
      [G_ADMINS, 'BI Admins'],
    ]);
    graph.throttleNext = 1;
    graph.requests.length = 0;
    const jwt = await v2Token({ oid, preferred_username: 'overage@contoso.example', roles: ['Reports.Read'], ...overage(oid) });
    const started = Date.now();
    const res = await call(`${gw.url}/claimgate/sso?jwt=${jwt}`);
    expect(res.status).toBe(303);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // waited for Retry-After: 1
    expect(await rolesOf('overage@contoso.example')).toEqual(['admin', 'reader']);
    const pages = graph.requests.filter((r) => r.includes('transitiveMemberOf'));
    expect(pages).toHaveLength(3); // the throttled one, then two pages of two
    expect(graph.requests.filter((r) => r.includes('/oauth2/v2.0/token'))).toEqual([`POST /${TID}/oauth2/v2.0/token`]);
    // The graph.windows.net endpoint the token names is never called.
    expect(graph.requests.some((r) => r.includes('getMemberObjects'))).toBe(false);

    const again = await call(`${gw.url}/claimgate/sso?jwt=${jwt}`);
    expect(again.status).toBe(401);
    expect(again.json().code).toBe('jti_replayed');
  });

  it('bearer tokens with hasgroups: true are resolved too; the app token and the memberships are reused', async () => {
    const oid = randomUUID();
    membersFor(oid, [[G_ANALYSTS, 'BI Analysts']]);
    const tokensBefore = graph.tokensIssued;
    graph.requests.length = 0;
    const t1 = await v2Token({ oid, preferred_username: 'bearer@contoso.example', hasgroups: true });
    const r1 = await call(`${gw.url}/dash`, { headers: { authorization: `Bearer ${t1}` } });
    expect(r1.status).toBe(200);
    expect(r1.json().headers['x-claimgate-roles']).toBe('analyst');
    const t2 = await v2Token({ oid, preferred_username: 'bearer@contoso.example', hasgroups: true });
    const r2 = await call(`${gw.url}/dash`, { headers: { authorization: `Bearer ${t2}` } });
    expect(r2.status).toBe(200);
    expect(graph.tokensIssued).toBe(tokensBefore); // reused from the first test
    expect(graph.requests.filter((r) => r.includes('transitiveMemberOf'))).toHaveLength(1); // cached per (tid, oid)
  });

  it('a token with its groups present never calls Graph', async () => {
    graph.requests.length = 0;
    const res = await call(`${gw.url}/claimgate/sso?jwt=${await v2Token({ preferred_username: 'inline@contoso.example', groups: [G_ANALYSTS] })}`);
    expect(res.status).toBe(303);
    expect(await rolesOf('inline@contoso.example')).toEqual(['analyst']);
    expect(graph.requests).toEqual([]);
  });

  it('Graph failing refuses the sign-in with 503 groups_unavailable and writes nothing', async () => {
    const oid = randomUUID();
    membersFor(oid, [[G_ADMINS, 'BI Admins']]);
    graph.failWith = 500;
    const [users, ids] = [await userCount(), await usedIds()];
    const jwt = await v2Token({ oid, preferred_username: 'down@contoso.example', ...overage(oid) });
    const res = await call(`${gw.url}/claimgate/sso?jwt=${jwt}`);
    expect(res.status).toBe(503);
    expect(res.text).toContain('groups_unavailable');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect([await userCount(), await usedIds()]).toEqual([users, ids]);
    expect(gw.logs.join('\n')).not.toContain(GRAPH_SECRET);
    expect(gw.logs.join('\n')).not.toMatch(/graph-app-token-/);

    // Throttled beyond the time budget is the same refusal (Retry-After longer than the sign-in may wait).
    graph.failWith = 0;
    graph.throttleNext = 1;
    graph.retryAfter = '120';
    const slow = await call(`${gw.url}/claimgate/sso?jwt=${await v2Token({ oid, preferred_username: 'down@contoso.example', ...overage(oid) })}`);
    graph.retryAfter = '1';
    expect(slow.status).toBe(503);
    expect(await userCount()).toBe(users);

    // The same link works once Graph is back: it was not consumed by the refusal.
    graph.throttleNext = 0;
    const ok = await call(`${gw.url}/claimgate/sso?jwt=${jwt}`);
    expect(ok.status).toBe(303);
    expect(await rolesOf('down@contoso.example')).toEqual(['admin']);
  });

  it('a bearer token with overage while Graph fails is refused with 503 and creates no user', async () => {
    const oid = randomUUID();
    membersFor(oid, [[G_ADMINS, 'BI Admins']]);
    graph.failWith = 500;
    const users = await userCount();
    const res = await call(`${gw.url}/dash`, {
      headers: { authorization: `Bearer ${await v2Token({ oid, preferred_username: 'bearer-down@contoso.example', hasgroups: true })}`, accept: 'application/json' },
    });
    expect(res.status).toBe(503);
    expect(res.json().code).toBe('groups_unavailable');
    expect(await userCount()).toBe(users);
    expect(gw.app.seen.some((s) => s.headers['x-claimgate-user'] === 'bearer-down@contoso.example')).toBe(false);
  });

  it('a 503 with Retry-After from Graph is retried like a 429', async () => {
    const oid = randomUUID();
    membersFor(oid, [[G_ANALYSTS, 'BI Analysts']]);
    graph.throttleNext = 2;
    graph.throttleStatus = 503;
    graph.retryAfter = '0';
    graph.requests.length = 0;
    try {
      const res = await call(`${gw.url}/claimgate/sso?jwt=${await v2Token({ oid, preferred_username: 'busy@contoso.example', ...overage(oid) })}`);
      expect(res.status).toBe(303);
    } finally {
      graph.throttleStatus = 429;
      graph.retryAfter = '1';
    }
    expect(await rolesOf('busy@contoso.example')).toEqual(['analyst']);
    expect(graph.requests.filter((r) => r.includes('transitiveMemberOf'))).toHaveLength(3);
  });

  it('an issuer without the preset still refuses a token that says its groups were left out', async () => {
    const oid = randomUUID();
    const users = await userCount();
    const jwt = await v2Token({ oid, jti: randomUUID(), preferred_username: 'plain@contoso.example', ...overage(oid, PLAIN_TID) }, PLAIN_TID);
    const res = await call(`${gw.url}/claimgate/sso?jwt=${jwt}`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(503);
    expect(res.json().code).toBe('groups_unavailable');
    expect(res.text).toContain('preset: entra');
    expect(await userCount()).toBe(users);
    // A token of the same issuer with its groups in it signs in as usual.
    const inline = await v2Token({ jti: randomUUID(), preferred_username: 'plain@contoso.example', groups: [G_ANALYSTS] }, PLAIN_TID);
    expect((await call(`${gw.url}/claimgate/sso?jwt=${inline}`)).status).toBe(303);
    expect(await rolesOf('plain@contoso.example')).toEqual(['analyst']);
  });

  it('overage without a graph block is refused and the message names the fix', async () => {
    const oid = randomUUID();
    const users = await userCount();
    const jwt = await v2Token({ oid, preferred_username: 'nograph@contoso.example', ...overage(oid, OTHER_TID) }, OTHER_TID);
    const res = await call(`${gw.url}/claimgate/sso?jwt=${jwt}`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(503);
    expect(res.json().code).toBe('groups_unavailable');
    expect(res.text).toContain('entra.graph');
    expect(await userCount()).toBe(users);
  });

  it('v1 issuers (sts.windows.net) work with groupField displayName', async () => {
    const oid = randomUUID();
    membersFor(oid, [[G_ADMINS, 'BI Admins']]);
    const now = Math.floor(Date.now() / 1000);
    const jwt = await signToken(
      {
        aud: `api://${CLIENT_ID}`,
        iss: `https://sts.windows.net/${TID}/`,
        iat: now,
        nbf: now,
        exp: now + 3600,
        appid: CLIENT_ID,
        name: 'Vera One',
        oid,
        sub: 'v1-sub',
        tid: TID,
        unique_name: 'vera@contoso.example',
        upn: 'vera@contoso.example',
        uti: 'v1uti' + randomUUID().slice(0, 8),
        ver: '1.0',
        hasgroups: true,
      },
      { key: signer, typ: 'JWT', now },
    );
    const res = await call(`${gw.url}/claimgate/sso?jwt=${jwt}`);
    expect(res.status).toBe(303);
    expect(await rolesOf('vera@contoso.example')).toEqual(['admin']);
  });

  it('the tenant template: tid must be listed and iss must be the template with exactly that tid', async () => {
    const foreign = await v2Token({ preferred_username: 'x@fabrikam.example' }, OTHER_TID.replace(/^f/, 'a'));
    expect((await call(`${gw.url}/claimgate/sso?jwt=${foreign}`)).json().code).toBe('issuer_unknown');
    const mismatched = await v2Token({ preferred_username: 'x@contoso.example', tid: OTHER_TID });
    expect((await call(`${gw.url}/claimgate/sso?jwt=${mismatched}`)).json().code).toBe('issuer_unknown');
    const tampered = await v2Token({ preferred_username: 'x@contoso.example', iss: `https://login.microsoftonline.com/${TID}/v2.0/extra` });
    expect((await call(`${gw.url}/claimgate/sso?jwt=${tampered}`)).json().code).toBe('issuer_unknown');
    const literal = await v2Token({ preferred_username: 'x@contoso.example', iss: V2 });
    expect((await call(`${gw.url}/claimgate/sso?jwt=${literal}`)).json().code).toBe('issuer_unknown');
  });

  it('the admin preview names mapped group ids: from Graph, or from the mapping\'s groupLabels', async () => {
    graph.memberships.set(randomUUID(), [
      { id: G_ADMINS, displayName: 'BI Admins' },
      { id: G_ANALYSTS, displayName: 'BI Analysts' },
    ]);
    const token = (await gw.running.gateway.parts.credentials.store.create({ name: 'preview', scopes: ['admin:read'] })).token;
    const preview = async (body: Record<string, unknown>) =>
      call(`${gw.url}/claimgate/admin/v1/mappings/corp/preview`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const claims = { sub: 's', preferred_username: 'p@contoso.example', tid: TID, groups: [G_ANALYSTS] };
    const viaGraph = await preview({ issuer: 'entra', claims });
    expect(viaGraph.status).toBe(200);
    expect(viaGraph.json().groupLabels).toEqual({ [G_ADMINS]: 'BI Admins', [G_ANALYSTS]: 'BI Analysts' });

    const draft = { ...MAPPING, groupLabels: { [G_ADMINS]: 'Report administrators' } };
    const viaTable = await preview({ issuer: 'entra-nograph', claims, mapping: draft });
    expect(viaTable.status).toBe(200);
    expect(viaTable.json().groupLabels).toEqual({ [G_ADMINS]: 'Report administrators' });
  });

  it('a session from an overage link carries the Graph groups to the app', async () => {
    const oid = randomUUID();
    membersFor(oid, [[G_ANALYSTS, 'BI Analysts'], [G_ADMINS, 'BI Admins']]);
    const res = await call(`${gw.url}/claimgate/sso?jwt=${await v2Token({ oid, preferred_username: 'sess@contoso.example', ...overage(oid) })}`);
    const page = await call(`${gw.url}/dash`, { headers: { cookie: cookieOf(res.headers['set-cookie']) } });
    expect(page.json().headers['x-claimgate-roles']).toBe('admin,analyst');
  });
});

describe('Entra ID: group overage in the redirect login (code flow)', () => {
  let graph: GraphStandIn;
  let idp: TestProvider;
  let gw: TestGateway;
  const oid = randomUUID();

  beforeAll(async () => {
    graph = await startGraphStandIn({ clientId: GRAPH_CLIENT, clientSecret: GRAPH_SECRET });
    graph.memberships.set(oid, [
      { id: G_OTHER[0]!, displayName: 'Everyone' },
      { id: G_ANALYSTS, displayName: 'BI Analysts' },
      { id: G_ADMINS, displayName: 'BI Admins' },
    ]);
    let started: TestGateway | undefined;
    idp = await startTestProvider(async (issuer) => {
      started = await startTestGateway({
        mappings: { corp: MAPPING },
        issuers: [
          oidcIssuer(issuer, {}, {
            preset: 'entra',
            entra: { tenants: [TID], graph: { clientId: GRAPH_CLIENT, clientSecret: GRAPH_SECRET, authorityUrl: graph.url, graphUrl: graph.url } },
          }),
        ],
      });
      return { clients: [webClient(started.url)], accounts: ACCOUNTS };
    });
    gw = started!;
    // The provider answers as Entra does for a user in too many groups: no `groups`, a pointer instead.
    idp.tamperToken = async (body) => ({
      ...body,
      id_token: await resignIdToken(idp, String(body.id_token), (c) => {
        const { groups: _dropped, ...rest } = c as Record<string, unknown>;
        return { ...rest, preferred_username: 'codeflow@contoso.example', tid: TID, oid, uti: 'codeflowuti', ver: '2.0', ...{
          _claim_names: { groups: 'src1' },
          _claim_sources: { src1: { endpoint: `https://graph.windows.net/${TID}/users/${oid}/getMemberObjects` } },
        } };
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await idp?.close();
    await graph?.close();
  });

  it('signs in with the groups Graph returns', async () => {
    const jar = new CookieJar();
    const { callbackUrl } = await startLogin(gw, jar, 'ada');
    const cb = await browse(jar, callbackUrl);
    expect(cb.status).toBe(303);
    const user = await gw.running.gateway.parts.users.getByUsercode('codeflow@contoso.example');
    expect((user?.roles ?? []).map((r) => r.name).sort()).toEqual(['admin', 'analyst']);
    expect(graph.requests.filter((r) => r.includes('transitiveMemberOf')).length).toBe(2);
  });
});
