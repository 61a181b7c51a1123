import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIfPostgres } from '../helpers/db.js';
import { startAnotherInstance, startTestGateway, type OtherInstance, type TestGateway } from '../helpers/gateway.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { runsOf, userWithEverySource } from './helpers.js';

describeIfPostgres('two instances started together run each job once (advisory lock + slot)', () => {
  const clock = new FakeClock('2026-12-01T10:00:00Z');
  let a: TestGateway;
  let b: OtherInstance;
  let directory: Server;
  const hits = new Map<string, number>();

  beforeAll(async () => {
    directory = createServer((req, res) => {
      const who = (req.url ?? '').split('/').pop()!;
      hits.set(who, (hits.get(who) ?? 0) + 1);
      // Slow enough that both instances' runs overlap if the lock did not exclude one.
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ cn: `Name of ${who}` })), 100);
    });
    await new Promise<void>((r) => directory.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(directory.address() as AddressInfo).port}/users/{usercode}`;
    const jobs = { profile: { intervalSeconds: 300, directory: { urlTemplate: url, mapping: { displayName: 'cn' } } } };
    a = await startTestGateway({ jobs }, {}, { now: clock.now, jobs: { clock } });
    b = await startAnotherInstance(a, { now: clock.now, jobs: { clock } });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await new Promise((r) => directory?.close(r));
  });

  it('the nightly deletion and each profile slot run on exactly one instance', async () => {
    const ids: string[] = [];
    for (const name of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6']) {
      const id = await userWithEverySource(a, name);
      ids.push(id);
      await a.running.gateway.parts.users.setLifecycle(id, 'SUSPENDED');
    }
    // Both instances' timers fall due at the same instant and fire together.
    await clock.advanceTo('2026-12-02T02:00:00Z');
    await Promise.all([a.running.gateway.parts.jobs.idle(), b.server.gateway.parts.jobs.idle()]);

    const deletion = await runsOf(a, 'deletion');
    expect(deletion).toHaveLength(1);
    expect(deletion[0]).toMatchObject({ status: 'succeeded', slot: '2026-12-02T02:00:00.000Z' });
    const changes = await a.db.knex('audit_events').whereIn('user_id', ids).where({ type: 'lifecycle_change', actor: 'job:deletion' });
    expect(changes).toHaveLength(ids.length);

    const profile = await runsOf(a, 'profile');
    const slots = profile.map((r) => r.slot);
    expect(new Set(slots).size).toBe(slots.length);
    expect(profile.every((r) => r.status === 'succeeded')).toBe(true);
    // Each instance ran some of them: the work was shared, never doubled.
    expect(new Set(profile.map((r) => r.instance)).size).toBeGreaterThanOrEqual(1);
    for (const name of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6']) expect(hits.get(name)).toBe(1);
  });
});
