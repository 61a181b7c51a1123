import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { call, type TestGateway } from '../helpers/gateway.js';
import { describeIfPostgres, hasPostgres } from '../helpers/db.js';
import { within } from '../helpers/wait.js';
import { q, startScim, USER, type ScimClient } from './scim-helpers.js';

/** Counts the searches the gateway receives from now on (the server sees a request before any route does). */
function searchesReceived(gw: TestGateway): () => number {
  let n = 0;
  gw.running.server.on('request', (req: IncomingMessage) => {
    if (/\/\.search$/.test((req.url ?? '').split('?')[0]!)) n++;
  });
  return () => n;
}

/**
 * A read made while the held ones are in flight, refused. Once they have reached the gateway they take their slots
 * as soon as their credential is checked; a probe that gets there before that is let through and decides nothing,
 * so it is repeated until refused.
 */
async function refusedRead(probe: () => ReturnType<ScimClient['scim']>): ReturnType<ScimClient['scim']> {
  let last: Awaited<ReturnType<ScimClient['scim']>> | undefined;
  await within(5000, async () => (last = await probe()).status === 429);
  return last!;
}

/**
 * A SCIM client must not be able to stop the database: filters are bounded, the gateway's PostgreSQL sessions
 * never JIT-compile, and one credential's reads in flight are capped while sign-ins still get through.
 */
describe(`SCIM filter and read limits (${hasPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let c: ScimClient;
  beforeAll(async () => {
    c = await startScim({ limits: { scimReadsPerCredential: 2 } });
    const r = await c.scim('POST', '/Users', { schemas: [USER], userName: 'filtered', displayName: 'Filtered', active: true });
    expect(r.status).toBe(201);
  });
  afterAll(async () => {
    await c?.gw.close();
  });

  const nested = (k: number): string => (k === 0 ? 'userName eq "x"' : `userName eq "${k}" ${k % 2 ? 'and' : 'or'} (${nested(k - 1)})`);
  const groupsOr = (n: number) => Array.from({ length: n }, (_, i) => `groups[display co "${i}"]`).join(' or ');

  it('150 value paths joined by or (about 4 KB): 400 invalidFilter at once, the detail naming the limit', async () => {
    const filter = groupsOr(150);
    expect(filter.length).toBeGreaterThan(3500);
    const started = Date.now();
    const r = await c.scim('GET', `/Users?${q(filter)}`);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ status: '400', scimType: 'invalidFilter', detail: expect.stringContaining('2048 characters') });
  });

  it.each([
    ['3 value paths', groupsOr(3), '2 value paths'],
    ['21 comparisons', Array.from({ length: 21 }, (_, i) => `userName eq "u${i}"`).join(' or '), '20 comparisons'],
    ['nesting deeper than 8', nested(10), 'nesting depth of 8'],
  ])('%s: 400 invalidFilter', async (_name, filter, limit) => {
    const get = await c.scim('GET', `/Users?${q(filter)}`);
    expect(get.status).toBe(400);
    expect(get.json()).toMatchObject({ scimType: 'invalidFilter', detail: expect.stringContaining(limit) });
    const search = await c.scim('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter });
    expect(search.status).toBe(400);
  });

  it.each([
    'userName eq "filtered"',
    'emails[type eq "work"].value eq "nobody@example.test" or userName eq "filtered"',
    groupsOr(2).replace(/^/, 'userName eq "filtered" or '),
    Array.from({ length: 19 }, (_, i) => `userName eq "u${i}"`).join(' or ') + ' or userName eq "filtered"',
  ])('a filter within the limits still works: %s', async (filter) => {
    const r = await c.scim('GET', `/Users?${q(filter)}`);
    expect(r.status).toBe(200);
    expect(r.json().Resources.map((u: { userName: string }) => u.userName)).toEqual(['filtered']);
  });

  it('reads beyond the per-credential limit get 429 with Retry-After while a sign-in still succeeds', async () => {
    // Searches whose bodies have not finished arriving hold their slots: real requests in flight, on any database.
    const received = searchesReceived(c.gw);
    const held = [0, 1].map(() => {
      const body = new PassThrough();
      body.write('{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],');
      const res = request(`${c.gw.url}/claimgate/scim/v2/Users/.search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/scim+json' },
        body,
      });
      // A failing run must fail its test, not crash the worker with an unhandled rejection.
      res.catch(() => undefined);
      return { body, res };
    });
    await within(5000, () => received() === 2);

    const refused = await refusedRead(() => c.scim('GET', '/Users?count=1'));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['content-type']).toContain('application/scim+json');
    expect(refused.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429' });

    // Another credential is not affected; writes are not counted as reads.
    const { token: other } = await c.gw.running.gateway.parts.credentials.store.create({ name: 'okta', scopes: ['scim'] });
    expect((await c.scim('GET', '/Users?count=1', undefined, { token: other })).status).toBe(200);
    expect((await c.scim('POST', '/Users', { schemas: [USER], userName: 'during-reads', active: true })).status).toBe(201);

    const signIn = await call(`${c.gw.url}/claimgate/sso?jwt=${await c.gw.token({ sub: 'u-busy', preferred_username: 'busy' })}`);
    expect(signIn.status).toBe(303);

    for (const h of held) h.body.end('"filter":"userName eq \\"filtered\\""}');
    for (const h of held) {
      const res = await h.res;
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    expect((await c.scim('GET', '/Users?count=1')).status).toBe(200);
  });
});

describe('SCIM reads of all credentials together', () => {
  let c: ScimClient;
  beforeAll(async () => {
    c = await startScim({ database: { poolMax: 4 }, limits: { scimReadsPerCredential: 4 } });
  });
  afterAll(async () => {
    await c?.gw.close();
  });

  it('take at most half of the database pool: a third credential waits (429) while a sign-in succeeds', async () => {
    const tokens = await Promise.all(['a', 'b', 'c'].map(async (n) => (await c.gw.running.gateway.parts.credentials.store.create({ name: `idp-${n}`, scopes: ['scim'] })).token));
    const received = searchesReceived(c.gw);
    const held = tokens.slice(0, 2).map((token) => {
      const body = new PassThrough();
      body.write('{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]');
      const res = request(`${c.gw.url}/claimgate/scim/v2/Users/.search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        body,
      });
      // A failing run must fail its test, not crash the worker with an unhandled rejection.
      res.catch(() => undefined);
      return { body, res };
    });
    await within(5000, () => received() === 2);
    const refused = await refusedRead(() => c.scim('GET', '/Groups', undefined, { token: tokens[2] }));
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
    const signIn = await call(`${c.gw.url}/claimgate/sso?jwt=${await c.gw.token({ sub: 'u-busy2', preferred_username: 'busy2' })}`);
    expect(signIn.status).toBe(303);
    for (const h of held) h.body.end('}');
    for (const h of held) expect((await h.res).statusCode).toBe(200);
    expect((await c.scim('GET', '/Groups', undefined, { token: tokens[2] })).status).toBe(200);
  });
});

describeIfPostgres('gateway PostgreSQL sessions', () => {
  let c: ScimClient;
  beforeAll(async () => {
    c = await startScim();
  });
  afterAll(async () => {
    await c?.gw.close();
  });

  it('run with jit off, on every pool connection', async () => {
    const knex = c.gw.db.knex;
    const answers = await Promise.all(
      [0, 1, 2].map(() => knex.transaction(async (trx) => ((await trx.raw('SHOW jit')) as { rows: { jit: string }[] }).rows[0]!.jit)),
    );
    expect(answers).toEqual(['off', 'off', 'off']);
  });
});
