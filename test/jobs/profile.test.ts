import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { runsOf } from './helpers.js';

interface Directory {
  url: string;
  hits: Map<string, number>;
  maxInFlight: number;
  close(): Promise<void>;
}

/** A profile directory: GET /users/<usercode>; bob's entry is broken (503), dan's is too slow. */
async function startDirectory(): Promise<Directory> {
  const hits = new Map<string, number>();
  let inFlight = 0;
  const d: Directory = { url: '', hits, maxInFlight: 0, close: async () => undefined };
  const people: Record<string, object> = {
    ada: { mail: 'ada@dir.test', cn: 'Ada Lovelace', givenName: 'Ada' },
    carol: { mail: 'carol@dir.test', cn: 'Carol' },
    dan: { mail: 'dan@dir.test', cn: 'Dan', givenName: 'Dan' },
  };
  const server: Server = createServer((req, res) => {
    const who = decodeURIComponent((req.url ?? '').replace(/^\/users\//, ''));
    hits.set(who, (hits.get(who) ?? 0) + 1);
    inFlight++;
    d.maxInFlight = Math.max(d.maxInFlight, inFlight);
    const answer = () => {
      inFlight--;
      if (who === 'bob') return void res.writeHead(503).end('down');
      const p = people[who];
      if (!p) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(p));
    };
    setTimeout(answer, who === 'dan' ? 1500 : 50);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  d.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  d.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return d;
}

describe(`profile job (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  const clock = new FakeClock('2026-12-01T10:01:00Z');
  let dir: Directory;
  let gw: TestGateway;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dir = await startDirectory();
    gw = await startTestGateway(
      {
        jobs: {
          profile: {
            intervalSeconds: 300,
            directory: {
              urlTemplate: `${dir.url}/users/{usercode}`,
              mapping: { email: 'mail', displayName: 'cn', firstName: 'givenName' },
              timeoutMs: 500,
              concurrency: 2,
            },
          },
        },
      },
      {},
      { now: clock.now, jobs: { clock } },
    );
    const { users } = gw.running.gateway.parts;
    for (const name of ['ada', 'bob', 'carol', 'dan']) ids[name] = (await users.createUser({ usercode: name, source: 'api' })).id;
    ids.eve = (await users.createUser({ usercode: 'eve', source: 'api', profile: { email: 'e@x.test', displayName: 'Eve', firstName: 'Eve' } })).id;
    ids.gus = (await users.createUser({ usercode: 'gus', source: 'api', profile: { email: 'gus@own.test' } })).id;
  });
  afterAll(async () => {
    await gw?.close();
    await dir?.close();
  });

  const status = async (name: string) => {
    const u = (await gw.running.gateway.parts.users.getById(ids[name]!))!;
    return { user: u, sync: u.status.find((s) => s.name === 'PROFILE_SYNC') };
  };

  it('fills empty fields, records OK / PENDING / FAILED, bounds concurrency and goes on past failures', async () => {
    expect(clock.pending()).toEqual(expect.arrayContaining(['2026-12-01T10:05:00.000Z']));
    await clock.advanceTo('2026-12-01T10:05:00Z');
    await gw.running.gateway.parts.jobs.idle();

    const ada = await status('ada');
    expect(ada.user).toMatchObject({ email: 'ada@dir.test', displayName: 'Ada Lovelace', firstName: 'Ada' });
    expect(ada.sync).toMatchObject({ status: 'OK', detail: 'filled email, displayName, firstName', at: '2026-12-01T10:05:00.000Z' });
    const bob = await status('bob');
    expect(bob.sync).toMatchObject({ status: 'FAILED' });
    expect(bob.sync!.detail).toContain('HTTP 503');
    const carol = await status('carol');
    expect(carol.user).toMatchObject({ email: 'carol@dir.test', displayName: 'Carol', firstName: null });
    expect(carol.sync).toMatchObject({ status: 'PENDING' });
    expect(carol.sync!.detail).toContain('firstName');
    const dan = await status('dan');
    expect(dan.sync).toMatchObject({ status: 'FAILED' });
    expect(dan.sync!.detail).toContain('did not answer within 500 ms');
    expect(dan.user.email).toBeNull();
    // A complete profile is never looked up; an existing value is never overwritten.
    expect(dir.hits.get('eve')).toBeUndefined();
    const gus = await status('gus');
    expect(gus.user.email).toBe('gus@own.test');
    expect(gus.sync).toMatchObject({ status: 'FAILED', detail: expect.stringContaining('HTTP 404') });
    expect(dir.maxInFlight).toBeLessThanOrEqual(2);
    const runs = await runsOf(gw, 'profile');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'succeeded', slot: '2026-12-01T10:05:00.000Z' });
    const audit = await gw.db.knex('audit_events').where({ user_id: ids.ada, type: 'profile_change', actor: 'job:profile' });
    expect(audit).toHaveLength(1);
  });

  it('retries failures with back-off: next run, then after two intervals', async () => {
    expect(dir.hits.get('bob')).toBe(1);
    await clock.advanceTo('2026-12-01T10:10:00Z');
    await gw.running.gateway.parts.jobs.idle();
    expect(dir.hits.get('bob')).toBe(2);
    expect(dir.hits.get('ada')).toBe(1);
    await clock.advanceTo('2026-12-01T10:15:00Z');
    await gw.running.gateway.parts.jobs.idle();
    expect(dir.hits.get('bob')).toBe(2);
    await clock.advanceTo('2026-12-01T10:20:00Z');
    await gw.running.gateway.parts.jobs.idle();
    expect(dir.hits.get('bob')).toBe(3);
  });

  it('a directory that is down marks PROFILE_SYNC FAILED and the run still finishes', async () => {
    await dir.close();
    const id = (await gw.running.gateway.parts.users.createUser({ usercode: 'hal', source: 'api' })).id;
    ids.hal = id;
    await clock.advanceTo('2026-12-01T10:25:00Z');
    await gw.running.gateway.parts.jobs.idle();
    const hal = await status('hal');
    expect(hal.sync).toMatchObject({ status: 'FAILED', detail: expect.stringContaining('unreachable') });
    const last = (await runsOf(gw, 'profile')).at(-1);
    expect(last).toMatchObject({ status: 'succeeded', slot: '2026-12-01T10:25:00.000Z' });
  });
});
