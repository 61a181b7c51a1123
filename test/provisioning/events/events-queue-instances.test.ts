import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIfPostgres } from '../../helpers/db.js';
import { startAnotherInstance, type OtherInstance } from '../../helpers/gateway.js';
import { makeKeyPair, startJwksServer, type JwksServer } from '../../helpers/tokens.js';
import { eventually, startAdminGateway, type AdminGateway } from '../../admin/helpers.js';
import { APP_ID, PREFIX } from './push.js';

const USERS = 150;

/**
 * Two instances drain one queue: each event is applied exactly once, and an event is never applied before one
 * queued ahead of it, whichever instance holds which rows.
 */
describeIfPostgres('event queue drained by two instances', () => {
  let a: AdminGateway;
  let b: OtherInstance;
  let jwks: JwksServer;

  beforeAll(async () => {
    const key = await makeKeyPair('RS256', 'KEYinst');
    jwks = await startJwksServer([key.publicJwk]);
    a = await startAdminGateway({ provisioning: { events: { jwksUri: jwks.jwksUri, appId: APP_ID } } });
    b = await startAnotherInstance(a);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await jwks?.close();
  });

  it('applies each event once and in queue order', async () => {
    const row = (eventId: string, type: string, eventTime: number, bizData: Record<string, unknown>) => ({
      push_jti: 'jti-inst',
      event_id: eventId,
      event: JSON.stringify({ eventId, type, eventType: `${PREFIX}${type}`, eventTime, bizId: null, bizData }),
    });
    // Every user is created in the first part of the queue and disabled in the second, last created first
    // disabled: a worker that took the second part while another still applied the first would disable users
    // that do not exist yet (and then skip their creation as older).
    const creates = Array.from({ length: USERS }, (_, i) => row(`inst-create-${i}`, 'ud:user:create', 1000 + i, { userId: `inst-${i}`, username: `inst.user.${i}` }));
    const disables = Array.from({ length: USERS }, (_, k) => {
      const i = USERS - 1 - k;
      return row(`inst-disable-${i}`, 'ud:user:disable', 5000 + i, { userId: `inst-${i}` });
    });
    await a.db.knex('event_queue').insert([...creates, ...disables]);
    await eventually(120_000, async () => Number(((await a.db.knex('event_queue').count({ n: '*' }).first()) as { n: string }).n) === 0);

    const receipts = (await a.db.knex('event_receipts').where('event_id', 'like', 'inst-%').select('event_id', 'outcome')) as { event_id: string; outcome: string }[];
    expect(receipts).toHaveLength(2 * USERS);
    expect(receipts.filter((r) => r.outcome !== 'success')).toEqual([]);
    const users = (await a.db.knex('users').where('usercode', 'like', 'inst.user.%').select('id', 'lifecycle')) as { id: string; lifecycle: string }[];
    expect(users).toHaveLength(USERS);
    expect(users.filter((u) => u.lifecycle !== 'SUSPENDED')).toEqual([]);
    const audit = (await a.db.knex('audit_events').whereIn('user_id', users.map((u) => u.id)).select('type')) as { type: string }[];
    expect(audit.filter((e) => e.type === 'user_created')).toHaveLength(USERS);
    expect(audit.filter((e) => e.type === 'lifecycle_change')).toHaveLength(USERS);
  }, 180_000);
});

describeIfPostgres('event queue: an instance that stops', () => {
  let gw: AdminGateway;
  let jwks: JwksServer;
  beforeAll(async () => {
    const key = await makeKeyPair('RS256', 'KEYstop');
    jwks = await startJwksServer([key.publicJwk]);
    gw = await startAdminGateway({ provisioning: { events: { jwksUri: jwks.jwksUri, appId: APP_ID } } });
  });
  afterAll(async () => {
    // The test stops the gateway itself; what is left is its database and the upstream app.
    await gw?.db.close();
    await gw?.app.close();
    await jwks?.close();
  });

  it('hands back the rows it claimed but did not apply, so another instance takes them over at once', async () => {
    // The first event's receipt takes three seconds to write, so the gateway is stopped in the middle of its batch.
    await gw.db.knex.raw(`CREATE FUNCTION cg_test_slow_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.event_id = 'stop-0' THEN PERFORM pg_sleep(3); END IF; RETURN NEW; END $$`);
    await gw.db.knex.raw('CREATE TRIGGER cg_test_slow_receipt BEFORE INSERT ON event_receipts FOR EACH ROW EXECUTE FUNCTION cg_test_slow_receipt()');
    const row = (i: number) => {
      const eventId = `stop-${i}`;
      return { push_jti: 'jti-stop', event_id: eventId, event: JSON.stringify({ eventId, type: 'ud:user:create', eventType: `${PREFIX}ud:user:create`, eventTime: 1, bizData: { userId: `stop-${i}`, username: `stop.user.${i}` } }) };
    };
    await gw.db.knex('event_queue').insert([0, 1, 2, 3, 4].map(row));
    const claimed = async () => Number(((await gw.db.knex('event_queue').whereNotNull('claimed_until').count({ n: '*' }).first()) as { n: string }).n);
    await eventually(10_000, async () => (await claimed()) === 5);
    await gw.running.close();
    const left = (await gw.db.knex('event_queue').orderBy('id').select('event_id', 'claimed_until')) as { event_id: string; claimed_until: Date | null }[];
    expect(left.map((r) => r.event_id)).toEqual(['stop-1', 'stop-2', 'stop-3', 'stop-4']);
    expect(left.filter((r) => r.claimed_until !== null)).toEqual([]);
  }, 60_000);
});
