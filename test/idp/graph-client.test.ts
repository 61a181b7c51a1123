import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { graphSchema } from '../../src/core/config/idp-schema.js';
import { EntraGroups } from '../../src/core/idp/entra-groups.js';
import { GraphClient, GraphUnavailable } from '../../src/core/idp/graph-client.js';
import { startGraphStandIn, type GraphStandIn } from '../helpers/graph-stand-in.js';
import { issuerConfig } from '../helpers/tokens.js';

const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0b1d3c6e-5d2a-4c53-8a57-2a1b3c4d5e6f';
const SECRET = 'graph-secret-value-0123456789';
const G1 = '9a4e2c1b-0d3f-4e5a-8b6c-7d8e9f0a1b2c';
const G2 = 'c3b2a190-8f7e-4d6c-9b5a-4f3e2d1c0b9a';

describe('Microsoft Graph client', () => {
  let graph: GraphStandIn;
  beforeAll(async () => {
    graph = await startGraphStandIn({ clientId: CLIENT, clientSecret: SECRET });
  });
  afterAll(async () => {
    await graph?.close();
  });
  const cfg = (extra: Record<string, unknown> = {}) =>
    graphSchema.parse({ clientId: CLIENT, clientSecret: SECRET, authorityUrl: graph.url, graphUrl: graph.url, timeoutMs: 3000, ...extra });
  const member = (groups: Array<[string, string]>) => {
    const oid = randomUUID();
    graph.memberships.set(oid, groups.map(([id, displayName]) => ({ id, displayName })));
    return oid;
  };

  it('always: true replaces the groups a token carries with Graph\'s', async () => {
    const oid = member([[G1, 'BI Admins']]);
    const issuer = issuerConfig({ preset: 'entra', entra: { tenants: [TID], graph: { clientId: CLIENT, clientSecret: SECRET, authorityUrl: graph.url, graphUrl: graph.url, always: true, groupField: 'displayName' } } });
    const out = await new EntraGroups([issuer]).prepare(issuer, { sub: 's', tid: TID, oid, groups: [G2] });
    expect(out.groups).toEqual(['BI Admins']);
  });

  it('memberships are kept per user for cacheSeconds (300 by default), then read again', async () => {
    let clock = Date.parse('2026-03-01T09:00:00Z');
    const issuer = issuerConfig({ preset: 'entra', entra: { tenants: [TID], graph: { clientId: CLIENT, clientSecret: SECRET, authorityUrl: graph.url, graphUrl: graph.url } } });
    expect(issuer.entra?.graph?.cacheSeconds).toBe(300);
    const groups = new EntraGroups([issuer], fetch, () => clock);
    const ada = member([[G1, 'BI Admins']]);
    const bob = member([[G2, 'BI Analysts']]);
    const reads = () => graph.requests.filter((r) => r.includes('transitiveMemberOf')).length;
    const before = reads();
    const overage = (oid: string) => ({ sub: 's', tid: TID, oid, hasgroups: true });
    expect((await groups.prepare(issuer, overage(ada))).groups).toEqual([G1]);
    expect((await groups.prepare(issuer, overage(bob))).groups).toEqual([G2]); // another oid: its own read
    expect(reads() - before).toBe(2);
    graph.memberships.set(ada, [{ id: G2, displayName: 'BI Analysts' }]); // Ada changes teams
    clock += 299_000;
    expect((await groups.prepare(issuer, overage(ada))).groups).toEqual([G1]); // still the cached answer
    expect(reads() - before).toBe(2);
    clock += 2_000;
    expect((await groups.prepare(issuer, overage(ada))).groups).toEqual([G2]);
    expect(reads() - before).toBe(3);
  });

  it('throttling is retried a bounded number of times, then the lookup gives up', async () => {
    const oid = member([[G1, 'BI Admins']]);
    graph.throttleNext = 100;
    graph.retryAfter = '0';
    const reads = () => graph.requests.filter((r) => r.includes('transitiveMemberOf')).length;
    const before = reads();
    try {
      await expect(new GraphClient(cfg()).transitiveGroups(TID, oid)).rejects.toThrow(/Graph answered HTTP 429/);
    } finally {
      graph.throttleNext = 0;
      graph.retryAfter = '1';
    }
    expect(reads() - before).toBe(4); // the first answer and three retries
  });

  it('authenticates with a client assertion when a private key is configured', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    graph.assertionKey = await exportJWK(publicKey);
    try {
      const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', kid: 'cert-1', x5t: 'hOBcHZi846VCHSJbFAs26Go9VTQ' };
      const oid = member([[G2, 'BI Analysts']]);
      const groups = await new GraphClient(cfg({ clientSecret: undefined, privateKey: jwk })).transitiveGroups(TID, oid);
      expect(groups.map((g) => g.id)).toEqual([G2]);
      expect(graph.lastAssertion?.header).toMatchObject({ alg: 'RS256', kid: 'cert-1', x5t: 'hOBcHZi846VCHSJbFAs26Go9VTQ' });
      expect(graph.lastAssertion?.claims).toMatchObject({ iss: CLIENT, sub: CLIENT, aud: `${graph.url}/${TID}/oauth2/v2.0/token` });
    } finally {
      graph.assertionKey = null;
    }
  });

  it('never follows a next-page link to another host (the app token would go with it)', async () => {
    const oid = member([[G1, 'a'], [G2, 'b'], ['11111111-2222-4333-8444-555555555555', 'c']]);
    graph.nextLinkOrigin = 'http://127.0.0.2:9';
    try {
      await expect(new GraphClient(cfg()).transitiveGroups(TID, oid)).rejects.toThrow(/another host/);
    } finally {
      graph.nextLinkOrigin = null;
    }
  });

  it('a refused app credential is groups_unavailable, without the secret in any message', async () => {
    const oid = member([[G1, 'a']]);
    const issuer = issuerConfig({ preset: 'entra', entra: { tenants: [TID], graph: { clientId: CLIENT, clientSecret: 'wrong-secret-value', authorityUrl: graph.url, graphUrl: graph.url } } });
    const err = await new EntraGroups([issuer]).prepare(issuer, { sub: 's', tid: TID, oid, hasgroups: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'groups_unavailable', status: 503 });
    const cause = (err as Error).cause as Error;
    expect(cause).toBeInstanceOf(GraphUnavailable);
    expect(cause.message).toMatch(/HTTP 401 invalid_client: AADSTS7000215/);
    expect(`${(err as Error).message} ${cause.message}`).not.toContain('wrong-secret-value');
  });
});
