import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { runsOf, SOURCE_ROLES, userWithEverySource } from './helpers.js';

const dbName = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';
const roleNames = (roles: { name: string }[]) => roles.map((r) => r.name).sort();

describe(`deletion job (${dbName})`, () => {
  const clock = new FakeClock('2026-12-01T09:00:00Z');
  let gw: TestGateway;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    gw = await startTestGateway({}, {}, { now: clock.now, jobs: { clock } });
    for (const name of ['ada', 'bob', 'carol', 'dan']) ids[name] = await userWithEverySource(gw, name);
  });
  afterAll(async () => {
    await gw?.close();
  });

  const ctx = () => gw.running.gateway.parts;
  const user = async (name: string) => (await ctx().users.getById(ids[name]!))!;

  it('keeps the roles of a user suspended at 10:00 and reactivated at 15:00; deprovisions one still suspended at the nightly run', async () => {
    await clock.advanceTo('2026-12-01T10:00:00Z');
    await ctx().users.setLifecycle(ids.ada!, 'SUSPENDED', { actor: 'admin:test', source: 'admin' });
    await ctx().users.setLifecycle(ids.bob!, 'SUSPENDED', { actor: 'admin:test', source: 'admin' });
    expect((await ctx().users.getAuthState(ids.ada!))!.roles).toEqual([]);
    await clock.advanceTo('2026-12-01T15:00:00Z');
    await ctx().users.setLifecycle(ids.ada!, 'ACTIVE', { actor: 'admin:test', source: 'admin' });
    // carol is suspended after midnight: her grace day is not over at tonight's run.
    await clock.advanceTo('2026-12-02T01:00:00Z');
    await ctx().users.setLifecycle(ids.carol!, 'SUSPENDED', { actor: 'admin:test', source: 'admin' });
    expect(clock.pending()).toContain('2026-12-02T02:00:00.000Z');

    await clock.advanceTo('2026-12-02T02:00:00Z');
    await ctx().jobs.idle();

    const ada = await user('ada');
    expect(ada.lifecycle).toBe('ACTIVE');
    expect(roleNames(ada.roles)).toEqual(SOURCE_ROLES.map(([, r]) => r).sort());
    expect((await ctx().users.getAuthState(ids.ada!))!.roles).toEqual(SOURCE_ROLES.map(([, r]) => r).sort());

    const bob = await user('bob');
    expect(bob.lifecycle).toBe('DEPROVISIONED');
    expect(bob.deprovisionedAt).toBe('2026-12-02T02:00:00.000Z');
    // SCIM memberships stay recorded, everything else is gone, and nothing is granted.
    expect(bob.roles).toEqual([{ name: 'scim_role', source: 'scim' }]);
    expect(Object.values(bob.attributes).flat().map((a) => a.source)).toEqual(['scim']);
    const bobState = (await ctx().users.getAuthState(ids.bob!))!;
    expect(bobState.roles).toEqual([]);
    expect(bobState.attributes).toEqual({});

    expect((await user('carol')).lifecycle).toBe('SUSPENDED');
    expect(roleNames((await user('carol')).roles)).toHaveLength(SOURCE_ROLES.length);
    expect((await user('dan')).lifecycle).toBe('ACTIVE');

    const audit = await gw.db.knex('audit_events').where({ user_id: ids.bob, actor: 'job:deletion' }).orderBy('id');
    expect(audit.map((a) => a.type)).toEqual(expect.arrayContaining(['lifecycle_change', 'role_change']));
    const runs = await runsOf(gw, 'deletion');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ slot: '2026-12-02T02:00:00.000Z', trigger: 'schedule', status: 'succeeded', dry_run: false });
    expect(typeof runs[0].counts === 'string' ? JSON.parse(runs[0].counts) : runs[0].counts).toEqual({ deprovisioned: 1 });
    // The next night is armed; carol goes then.
    expect(clock.pending()).toContain('2026-12-03T02:00:00.000Z');
    await clock.advanceTo('2026-12-03T02:00:00Z');
    await ctx().jobs.idle();
    expect((await user('carol')).lifecycle).toBe('DEPROVISIONED');
  });

  it('a dry run changes nothing and counts who would go', async () => {
    await clock.advanceTo('2026-12-04T03:00:00Z');
    await ctx().users.setLifecycle(ids.dan!, 'SUSPENDED', { actor: 'admin:test', source: 'admin' });
    // The next night's run is still ahead; a manual run now treats dan as due (suspended before today).
    await clock.advanceTo('2026-12-05T01:00:00Z');
    const before = await user('dan');
    const s = await ctx().jobs.trigger('deletion', { trigger: 'manual', dryRun: true, actor: 'admin:test' });
    if (s.state !== 'started') throw new Error(s.state);
    expect(await s.done).toMatchObject({ job: 'deletion', status: 'succeeded', dryRun: true, trigger: 'manual', counts: { wouldDeprovision: 1 } });
    expect(await user('dan')).toEqual(before);
    expect(await gw.db.knex('audit_events').where({ user_id: ids.dan, actor: 'job:deletion' })).toHaveLength(0);
  });
});

describe(`deletion job: configured dry run, crash recovery (${dbName})`, () => {
  it('a scheduled run under jobs.deletion.dryRun changes nothing', async () => {
    const clock = new FakeClock('2026-12-01T10:00:00Z');
    const gw = await startTestGateway({ jobs: { deletion: { dryRun: true } } }, {}, { now: clock.now, jobs: { clock } });
    try {
      const id = await userWithEverySource(gw, 'erin');
      await gw.running.gateway.parts.users.setLifecycle(id, 'SUSPENDED');
      const before = await gw.running.gateway.parts.users.getById(id);
      await clock.advanceTo('2026-12-02T02:00:00Z');
      await gw.running.gateway.parts.jobs.idle();
      expect(await gw.running.gateway.parts.users.getById(id)).toEqual(before);
      const runs = await runsOf(gw, 'deletion');
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ dry_run: true, status: 'succeeded' });
    } finally {
      await gw.close();
    }
  });

  it('a run left "running" by a crashed process is marked interrupted and its slot is finished at start', async () => {
    const clock = new FakeClock('2026-12-02T02:30:00Z');
    const gw = await startTestGateway({}, {}, { now: clock.now, jobs: { clock, disabled: true } });
    try {
      const ctx = gw.running.gateway.parts;
      const id = await userWithEverySource(gw, 'fay');
      await ctx.users.setLifecycle(id, 'SUSPENDED');
      await gw.db.knex('users').where({ id }).update({ suspended_at: new Date('2026-12-01T10:00:00Z') });
      // What a process that died at 02:00:05 left behind.
      await gw.db.knex('job_runs').insert({
        id: '01JCRASHED0000000000000000',
        job: 'deletion',
        slot: '2026-12-02T02:00:00.000Z',
        trigger: 'schedule',
        status: 'running',
        started_at: new Date('2026-12-02T02:00:00Z'),
      });
      ctx.jobs.start();
      await ctx.jobs.idle();
      const runs = await runsOf(gw, 'deletion');
      expect(runs.map((r) => [r.trigger, r.status])).toEqual([
        ['schedule', 'interrupted'],
        ['catch-up', 'succeeded'],
      ]);
      expect(runs[1].slot).toBe('2026-12-02T02:00:00.000Z');
      expect((await ctx.users.getById(id))!.lifecycle).toBe('DEPROVISIONED');
      // Started again: the slot ran, nothing is caught up twice.
      await ctx.jobs.stop();
    } finally {
      await gw.close();
    }
  });
});
