import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { bearer, userWithEverySource } from './helpers.js';

describe(`admin API …/jobs (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  const clock = new FakeClock('2026-12-01T09:00:00Z');
  let gw: TestGateway;
  let dan: string;

  beforeAll(async () => {
    gw = await startTestGateway({}, {}, { now: clock.now, jobs: { clock } });
    dan = await userWithEverySource(gw, 'dan');
    await gw.running.gateway.parts.users.setLifecycle(dan, 'SUSPENDED', { actor: 'admin:test', source: 'admin' });
    await clock.advanceTo('2026-12-02T01:00:00Z');
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('POST …/jobs/deletion/run?dryRun=true runs now, records the run and changes nothing', async () => {
    const before = await gw.running.gateway.parts.users.getById(dan);
    const res = await call(`${gw.url}/claimgate/admin/v1/jobs/deletion/run?dryRun=true`, { method: 'POST', headers: await bearer(gw, 'admin:write') });
    expect(res.status).toBe(200);
    expect(res.json().result.run).toMatchObject({ job: 'deletion', status: 'succeeded', dryRun: true, trigger: 'manual', counts: { wouldDeprovision: 1 } });
    expect(await gw.running.gateway.parts.users.getById(dan)).toEqual(before);
  });

  it('POST …/jobs/deletion/run deprovisions', async () => {
    const res = await call(`${gw.url}/claimgate/admin/v1/jobs/deletion/run`, { method: 'POST', headers: await bearer(gw, 'admin:write') });
    expect(res.status).toBe(200);
    expect(res.json().result.run).toMatchObject({ status: 'succeeded', dryRun: false, counts: { deprovisioned: 1 } });
    expect((await gw.running.gateway.parts.users.getById(dan))!.lifecycle).toBe('DEPROVISIONED');
  });

  it('GET …/jobs lists schedules and recorded runs; both endpoints need their scope', async () => {
    expect((await call(`${gw.url}/claimgate/admin/v1/jobs`)).status).toBe(401);
    expect((await call(`${gw.url}/claimgate/admin/v1/jobs/deletion/run`, { method: 'POST', headers: await bearer(gw, 'admin:read') })).status).toBe(403);
    const res = await call(`${gw.url}/claimgate/admin/v1/jobs`, { headers: await bearer(gw, 'admin:read') });
    expect(res.status).toBe(200);
    const deletion = res.json().items.find((j: { name: string }) => j.name === 'deletion');
    expect(deletion).toMatchObject({
      enabled: true,
      schedule: { at: '02:00', timeZone: 'UTC', graceDays: 0, dryRun: false },
      nextRunAt: '2026-12-02T02:00:00.000Z',
      lastRun: { dryRun: false, status: 'succeeded', trigger: 'manual' },
    });
    expect(deletion.recentRuns).toHaveLength(2);
    expect(res.json().items.find((j: { name: string }) => j.name === 'profile')).toMatchObject({ enabled: false, nextRunAt: null });
    expect((await call(`${gw.url}/claimgate/admin/v1/jobs/nope/run`, { method: 'POST', headers: await bearer(gw, 'admin:write') })).status).toBe(404);
  });
});

describe('a manual deletion run with jobs.deletion.dryRun: true', () => {
  const clock = new FakeClock('2026-12-01T09:00:00Z');
  let gw: TestGateway;
  let eve: string;
  beforeAll(async () => {
    gw = await startTestGateway({ jobs: { deletion: { dryRun: true } } }, {}, { now: clock.now, jobs: { clock } });
    eve = await userWithEverySource(gw, 'eve');
    await gw.running.gateway.parts.users.setLifecycle(eve, 'SUSPENDED', { actor: 'admin:test', source: 'admin' });
    await clock.advanceTo('2026-12-02T01:00:00Z');
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('stays a dry run without ?dryRun, and ?dryRun=false overrides it', async () => {
    const run = async (qs: string) =>
      (await call(`${gw.url}/claimgate/admin/v1/jobs/deletion/run${qs}`, { method: 'POST', headers: await bearer(gw, 'admin:write') })).json().result.run;
    expect(await run('')).toMatchObject({ dryRun: true, counts: { wouldDeprovision: 1 } });
    expect((await gw.running.gateway.parts.users.getById(eve))!.lifecycle).toBe('SUSPENDED');
    expect(await run('?dryRun=false')).toMatchObject({ dryRun: false, counts: { deprovisioned: 1 } });
    expect((await gw.running.gateway.parts.users.getById(eve))!.lifecycle).toBe('DEPROVISIONED');
  });
});
