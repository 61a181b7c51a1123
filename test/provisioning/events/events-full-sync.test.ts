import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, startTestGateway } from '../../helpers/gateway.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { makeKeyPair, startJwksServer } from '../../helpers/tokens.js';
import { APP_ID, pushBody, type TestEvent } from './push.js';
import { eventually } from '../../admin/helpers.js';

const dbName = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

/** A gateway receiving pushes, with a fake clock driving both the receiver and the deletion job. */
async function setup(suspendMissing: boolean) {
  const clock = new FakeClock('2026-03-01T09:00:00Z');
  const key = await makeKeyPair('RS256', 'KEYfull');
  const jwks = await startJwksServer([key.publicJwk]);
  const gw = await startTestGateway(
    { provisioning: { events: { jwksUri: jwks.jwksUri, appId: APP_ID, fullSync: { suspendMissing, graceHours: 24 }, groupRoles: { Sales: 'sales' } } }, rateLimits: { events: { perMinute: 10000 } } },
    {},
    { now: clock.now, jobs: { clock, disabled: true } },
  );
  const queued = async () => Number(((await gw.db.knex('event_queue').count({ n: '*' }).first()) as { n: string | number }).n);
  /**
   * A push, then (unless `settled: false`) the wait until nothing is queued: on a loaded machine the receiver may queue
   * events it could not apply within its time budget, and the tests read the outcome right after.
   */
  const post = async (events: TestEvent[], opts: { unsigned?: boolean; settled?: boolean } = {}) => {
    const { settled = true, ...signing } = opts;
    const r = await call(`${gw.url}/claimgate/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json;charset=utf-8' },
      body: await pushBody(events, { key, now: Math.floor(clock.now() / 1000), ...signing }),
    });
    if (settled) await eventually(20_000, async () => (await queued()) === 0);
    return r;
  };
  const user = (id: string, type = 'ud:user:create'): TestEvent => ({ type, eventTime: clock.now(), bizData: { userId: id, username: id, displayName: id } });
  const lifecycle = async (usercode: string) => (await gw.running.gateway.parts.users.getByUsercode(usercode))!.lifecycle;
  const deletion = async (dryRun: boolean) => {
    const r = await gw.running.gateway.parts.jobs.trigger('deletion', { trigger: 'manual', dryRun, actor: 'admin:test' });
    if (r.state !== 'started') throw new Error(r.state);
    const done = await r.done;
    await gw.running.gateway.parts.jobs.idle();
    return done;
  };
  return { clock, gw, jwks, post, queued, user, lifecycle, deletion, close: async () => { await gw.close(); await jwks.close(); } };
}

/** A `setup` made before the suite's tests and closed after them (its members are there once the tests run). */
function setupForSuite(suspendMissing: boolean): Awaited<ReturnType<typeof setup>> {
  const t = {} as Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    Object.assign(t, await setup(suspendMissing));
  }, 60_000);
  afterAll(async () => {
    await t.close?.();
  });
  return t;
}

describe(`full push reconciliation (${dbName})`, () => {
  const t = setupForSuite(true);

  it('suspends, after the grace period, an event user a completed full push did not mention (dry run first); SCIM and sync users are untouched', async () => {
    const unit = (id: string, type = 'ud:organizational_unit:create'): TestEvent => ({ type, eventTime: t.clock.now(), bizData: { organizationalUnitId: id, organizationalUnitName: id === 'ou-sales' ? 'Sales' : id } });
    expect((await t.post([unit('ou-sales'), unit('ou-kept'), t.user('kept'), t.user('left'), { type: 'ud:organizational_unit:add_user', eventTime: t.clock.now(), bizData: { organizationalUnitId: 'ou-sales', userId: 'kept' } }])).status).toBe(200);
    const ctx = t.gw.running.gateway.parts;
    expect((await ctx.users.getByUsercode('kept'))!.roles.map((r) => r.name)).toContain('sales');
    await ctx.users.createUser({ usercode: 'from-sync', source: 'api' });
    await ctx.users.createUser({ usercode: 'from-scim', source: 'scim', profile: { idpSource: 'AAD', idpReferenceId: 'aad-1' } });
    await t.clock.advanceTo('2026-03-01T10:00:00Z');
    expect((await t.post([unit('ou-kept', 'ud:organizational_unit:push'), t.user('kept', 'ud:user:push')])).status).toBe(200);
    // Complete 10 minutes after its last event; the grace period runs from then.
    await t.clock.advanceTo('2026-03-02T10:09:00Z');
    expect((await t.deletion(true)).counts).not.toHaveProperty('wouldSuspendFullSyncMissing');
    await t.clock.advanceTo('2026-03-02T10:11:00Z');
    const dry = await t.deletion(true);
    expect(dry).toMatchObject({ status: 'succeeded', dryRun: true, counts: { wouldSuspendFullSyncMissing: 1, wouldRemoveFullSyncMissingUnits: 1 } });
    expect(await t.lifecycle('left')).toBe('ACTIVE');
    expect(await t.gw.db.knex('event_groups').where({ id: 'ou-sales' }).first()).toBeTruthy();
    const real = await t.deletion(false);
    expect(real.counts).toMatchObject({ suspendedFullSyncMissing: 1, removedFullSyncMissingUnits: 1 });
    expect((await t.gw.db.knex('event_groups').orderBy('id').pluck('id'))).toEqual(['ou-kept']);
    expect((await ctx.users.getByUsercode('kept'))!.roles.map((r) => r.name)).not.toContain('sales');
    const removed = await t.gw.db.knex('audit_events').where({ type: 'event_unit_removed' }).first();
    expect(typeof removed.detail === 'string' ? JSON.parse(removed.detail) : removed.detail).toMatchObject({ reason: 'full_sync_missing', unitId: 'ou-sales', members: 1 });
    expect(await t.lifecycle('left')).toBe('SUSPENDED');
    for (const u of ['kept', 'from-sync', 'from-scim']) expect(await t.lifecycle(u)).toBe('ACTIVE');
    const audit = await t.gw.db.knex('audit_events').where({ usercode: 'left', type: 'lifecycle_change' }).orderBy('id', 'desc').first();
    const detail = typeof audit.detail === 'string' ? JSON.parse(audit.detail) : audit.detail;
    expect(detail).toMatchObject({ before: 'ACTIVE', after: 'SUSPENDED', reason: 'full_sync_missing' });
  }, 60_000);

  it('a full push cut short (a push of it refused) suspends nobody', async () => {
    expect((await t.post([t.user('other')])).status).toBe(200);
    await t.clock.advanceTo('2026-03-03T10:00:00Z');
    expect((await t.post([t.user('kept', 'ud:user:push')])).status).toBe(200);
    expect((await t.post([t.user('other', 'ud:user:push')], { unsigned: true })).status).toBe(400);
    // Later pages still join the run, which can then never count as complete.
    expect((await t.post([t.user('late', 'ud:user:push')])).status).toBe(200);
    const open = await t.gw.db.knex('event_full_sync').orderBy('id', 'desc').first();
    expect(open).toMatchObject({ status: 'open', interrupted_reason: 'push answered 400' });
    expect(await t.gw.db.knex('event_full_sync_seen').where({ run_id: open.id }).orderBy('subject_id').pluck('subject_id')).toEqual(['kept', 'late']);
    await t.clock.advanceTo('2026-03-05T10:00:00Z');
    const real = await t.deletion(false);
    expect(real.counts).not.toHaveProperty('suspendedFullSyncMissing');
    expect(await t.lifecycle('other')).toBe('ACTIVE');
    expect((await t.gw.db.knex('event_full_sync').orderBy('id', 'desc').first()).status).toBe('interrupted');
  }, 60_000);

  it('a refused first page taints the full push that follows it', async () => {
    expect((await t.post([t.user('kept', 'ud:user:push')], { unsigned: true })).status).toBe(400);
    await t.clock.advanceTo('2026-03-05T10:01:00Z');
    expect((await t.post([t.user('kept', 'ud:user:push')])).status).toBe(200);
    await t.clock.advanceTo('2026-03-07T10:00:00Z');
    const real = await t.deletion(false);
    expect(real.counts).not.toHaveProperty('suspendedFullSyncMissing');
    expect(await t.lifecycle('other')).toBe('ACTIVE');
  }, 60_000);
});

describe(`full push reconciliation with suspendMissing false (${dbName})`, () => {
  const t = setupForSuite(false);

  it('suspends nobody, while a dry run still shows who would be', async () => {
    expect((await t.post([t.user('kept'), t.user('left')])).status).toBe(200);
    await t.clock.advanceTo('2026-03-01T10:00:00Z');
    expect((await t.post([t.user('kept', 'ud:user:push')])).status).toBe(200);
    await t.clock.advanceTo('2026-03-03T10:00:00Z');
    expect((await t.deletion(true)).counts).toMatchObject({ wouldSuspendFullSyncMissing: 1 });
    expect((await t.deletion(false)).counts).not.toHaveProperty('suspendedFullSyncMissing');
    expect(await t.lifecycle('left')).toBe('ACTIVE');
  }, 60_000);
});

describe(`queued events under the gateway's clock (${dbName})`, () => {
  const t = setupForSuite(false);

  it("a push queued behind waiting events is applied when the gateway's clock says it is due, whatever the database's clock says", async () => {
    // The gateway's clock is months behind the database's here. A full batch of events waits for a later time
    // (by the gateway's clock); a push arriving meanwhile joins the queue behind them and must become due by the
    // same clock once they are applied.
    const later = new Date(t.clock.now() + 60_000);
    const waiting = Array.from({ length: 100 }, (_, i) => {
      const eventId = `clock-wait-${i}`;
      const event = { eventId, type: 'ud:user:update_password', eventType: 'urn:alibaba:idaas:app:event:ud:user:update_password', eventTime: t.clock.now(), bizId: null, bizData: { userId: 'nobody' } };
      return { push_jti: 'jti-clock', event_id: eventId, event: JSON.stringify(event), next_attempt_at: later };
    });
    await t.gw.db.knex('event_queue').insert(waiting);
    const r = await t.post([t.user('clock-b')], { settled: false });
    expect(r.status).toBe(200);
    expect(r.json().successEvents).toEqual([expect.objectContaining({ eventMessage: 'QUEUED' })]);
    await t.clock.advanceTo(new Date(t.clock.now() + 61_000).toISOString());
    await eventually(20_000, async () => (await t.queued()) === 0);
    expect(await t.gw.running.gateway.parts.users.getByUsercode('clock-b')).not.toBeNull();
  }, 60_000);
});
