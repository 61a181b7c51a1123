import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { call } from '../../helpers/gateway.js';
import { makeKeyPair, startJwksServer, type JwksServer, type KeyPair } from '../../helpers/tokens.js';
import { eventually, startAdminGateway, type AdminGateway } from '../../admin/helpers.js';
import { APP_ID, PREFIX, pushBody, type TestEvent } from './push.js';

/** A large push is acknowledged well within the sender's 10 s, then applied from the durable queue. */
describe(`event receiver queue (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let gw: AdminGateway;
  let jwks: JwksServer;
  let key: KeyPair;

  beforeAll(async () => {
    key = await makeKeyPair('RS256', 'KEYqueue');
    jwks = await startJwksServer([key.publicJwk]);
    gw = await startAdminGateway({ provisioning: { events: { jwksUri: jwks.jwksUri, appId: APP_ID } }, rateLimits: { events: { perMinute: 10000 } } });
  });
  afterAll(async () => {
    await gw?.close();
    await jwks?.close();
  });

  const post = (body: string) => call(`${gw.url}/claimgate/events`, { method: 'POST', headers: { 'content-type': 'application/json;charset=utf-8' }, body });
  const count = async (table: string, where: Record<string, unknown> = {}) => Number(((await gw.db.knex(table).where(where).count({ n: '*' }).first()) as { n: string | number }).n);

  it('a 10 MB full push is answered in well under 10 s, every event acknowledged, then all applied', async () => {
    const padding = 'x'.repeat(8_000);
    const events: TestEvent[] = Array.from({ length: 1000 }, (_, i) => ({
      eventId: `big-${i}`,
      type: 'ud:user:push',
      eventTime: 10_000 + i,
      bizData: { userId: `big-user-${i}`, username: `big.user.${i}`, displayName: `Big ${i}`, description: padding },
    }));
    const body = await pushBody(events, { key });
    expect(body.length).toBeGreaterThan(10 * 1024 * 1024);
    const started = Date.now();
    const r = await post(body);
    const took = Date.now() - started;
    expect(r.status).toBe(200);
    // The server's own measure (request start to answer sent). With the embedded database the queue worker shares
    // this process's thread with the test client, which then reads the answer late; a real sender does not.
    const logged = await eventually(10_000, async () => (await gw.db.knex('request_logs').where({ kind: 'request', path: '/claimgate/events' }).first('duration_ms')) as { duration_ms: number } | undefined);
    const serverMs = Number(logged.duration_ms);
    expect(serverMs).toBeLessThan(9000);
    if (process.env.DATABASE_URL) expect(took).toBeLessThan(9000);
    const answer = r.json();
    expect(answer.successEvents).toHaveLength(1000);
    expect(answer.failedEvents).toEqual([]);
    console.info(`10 MB push (${body.length} bytes): answered in ${serverMs} ms (client saw ${took} ms); ${answer.successEvents.filter((e: { eventMessage: string }) => e.eventMessage === 'QUEUED').length} events queued`);
    await eventually(180_000, async () => (await count('users', { idp_source: 'IDAAS' })) >= 1000);
    await eventually(10_000, async () => (await count('event_queue')) === 0);
    expect(await count('event_receipts', { outcome: 'success' })).toBeGreaterThanOrEqual(1000);
    expect((await gw.api('GET', '/provisioning/events/queue', { token: gw.tokens.read })).json()).toMatchObject({ depth: 0, failing: 0 });
  }, 240_000);

  it('a queued event that fails is retried with back-off, visible in the admin API, and applied once the fault is gone', async () => {
    const event = { eventId: randomUUID(), type: 'ud:user:create', eventType: `${PREFIX}ud:user:create`, eventTime: 1, bizId: null, bizData: { userId: 'q-user', username: 'queued.user' } };
    await gw.db.knex.raw('ALTER TABLE event_subjects RENAME TO event_subjects_gone');
    try {
      await gw.db.knex('event_queue').insert({ push_jti: 'jti-q', event_id: event.eventId, event: JSON.stringify(event) });
      const status = await eventually(10_000, async () => {
        const s = (await gw.api('GET', '/provisioning/events/queue', { token: gw.tokens.read })).json();
        return s.failing === 1 && s;
      });
      expect(status).toMatchObject({ depth: 1, failing: 1, lastError: expect.stringContaining('event_subjects') });
      const metrics = await call(`${gw.url}/claimgate/metrics`, { headers: { authorization: `Bearer ${gw.tokens.metrics}` } });
      expect(metrics.text).toContain('claimgate_event_queue_events{state="failing"} 1');
      expect(metrics.text).toContain('claimgate_event_queue_events{state="queued"} 1');
      const row = (await gw.db.knex('event_queue').first()) as { attempts: number; next_attempt_at: Date };
      expect(Number(row.attempts)).toBeGreaterThanOrEqual(1);
      expect(new Date(row.next_attempt_at).getTime()).toBeGreaterThan(Date.now());
    } finally {
      await gw.db.knex.raw('ALTER TABLE event_subjects_gone RENAME TO event_subjects');
    }
    await eventually(30_000, async () => (await gw.running.gateway.parts.users.getByUsercode('queued.user')) !== null);
    // The worker deletes the row just after the event is applied.
    await eventually(10_000, async () => (await count('event_queue')) === 0);
    expect(await count('event_receipts', { event_id: event.eventId })).toBe(1);
  }, 60_000);

  it('a queued event being retried holds every event behind it, a later push included: order is kept', async () => {
    // A real database failure for this one event only: its receipt cannot be written until the trigger goes.
    await gw.db.knex.raw(`CREATE FUNCTION cg_test_refuse_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.event_id = 'ord-create' THEN RAISE EXCEPTION 'receipts unavailable'; END IF; RETURN NEW; END $$`);
    await gw.db.knex.raw('CREATE TRIGGER cg_test_refuse_receipt BEFORE INSERT ON event_receipts FOR EACH ROW EXECUTE FUNCTION cg_test_refuse_receipt()');
    const queued = (eventId: string, type: string, eventTime: number, bizData: Record<string, unknown>) => ({
      push_jti: 'jti-ord',
      event_id: eventId,
      event: JSON.stringify({ eventId, type, eventType: `${PREFIX}${type}`, eventTime, bizId: null, bizData }),
    });
    try {
      await gw.db.knex('event_queue').insert([
        queued('ord-create', 'ud:user:create', 100, { userId: 'ord-x', username: 'ordered.user', displayName: 'Ordered' }),
        queued('ord-disable', 'ud:user:disable', 200, { userId: 'ord-x' }),
      ]);
      await eventually(10_000, async () => Number(((await gw.db.knex('event_queue').where({ event_id: 'ord-create' }).first('attempts')) as { attempts: number }).attempts) >= 1);
      // A push arriving meanwhile joins the queue behind them instead of being applied ahead of them.
      const later = await post(await pushBody([{ eventId: 'ord-update', type: 'ud:user:update_info', eventTime: 300, bizData: { userId: 'ord-x', username: 'ordered.user', displayName: 'Ordered Later' } }], { key }));
      expect(later.status).toBe(200);
      expect(later.json().successEvents).toEqual([{ eventId: 'ord-update', eventCode: 'SUCCESS', eventMessage: 'QUEUED' }]);
      // The worker has tried the first event again: nothing behind it moved meanwhile.
      await eventually(20_000, async () => Number(((await gw.db.knex('event_queue').where({ event_id: 'ord-create' }).first('attempts')) as { attempts: number }).attempts) >= 2);
      expect(((await gw.db.knex('event_queue').orderBy('id').pluck('event_id')) as string[])).toEqual(['ord-create', 'ord-disable', 'ord-update']);
      expect(await gw.running.gateway.parts.users.getByUsercode('ordered.user')).toBeNull();
    } finally {
      await gw.db.knex.raw('DROP TRIGGER cg_test_refuse_receipt ON event_receipts');
      await gw.db.knex.raw('DROP FUNCTION cg_test_refuse_receipt()');
    }
    await eventually(30_000, async () => (await count('event_queue')) === 0);
    // Created, then suspended, then renamed: the state of the events applied in their order.
    const user = (await gw.running.gateway.parts.users.getByUsercode('ordered.user'))!;
    expect(user).toMatchObject({ lifecycle: 'SUSPENDED', displayName: 'Ordered Later' });
    const outcomes = (await gw.db.knex('event_receipts').whereIn('event_id', ['ord-create', 'ord-disable', 'ord-update']).orderBy('event_id').select('event_id', 'outcome')) as { event_id: string; outcome: string }[];
    expect(outcomes).toEqual([
      { event_id: 'ord-create', outcome: 'success' },
      { event_id: 'ord-disable', outcome: 'success' },
      { event_id: 'ord-update', outcome: 'success' },
    ]);
  }, 90_000);
});
