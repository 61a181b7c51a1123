import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, DEFAULT_MAPPING } from '../helpers/gateway.js';
import { makeKeyPair, startJwksServer, type JwksServer, type KeyPair } from '../helpers/tokens.js';
import { eventually, startAdminGateway, type AdminGateway } from '../admin/helpers.js';
import { APP_ID, pushBody, type TestEvent } from '../provisioning/events/push.js';
import { hasPostgres } from '../helpers/db.js';
import { redact } from '../../src/observability/redact.js';
import { inputShape, maskedBodyValue } from '../../src/observability/log-masking.js';

/**
 * Names from requests that a plain object would resolve on its prototype: `constructor`, `toString`,
 * `__proto__`. Each must behave like any other name: stored, mapped, shown, or refused as unknown.
 */
describe(`prototype-named keys (${hasPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let gw: AdminGateway;
  let jwks: JwksServer;
  let eventKey: KeyPair;
  let syncToken: string;

  beforeAll(async () => {
    eventKey = await makeKeyPair('RS256', 'KEYproto');
    jwks = await startJwksServer([eventKey.publicJwk]);
    gw = await startAdminGateway({
      mappings: {
        corp: {
          ...DEFAULT_MAPPING,
          roles: [{ from: 'groups', map: JSON.parse('{"constructor":"ctor-role","__proto__":"proto-role","bi-admins":"admin"}') }],
          attributes: JSON.parse('{"region":"regions","constructor":"ctor_claim"}'),
        },
      },
      provisioning: {
        events: {
          jwksUri: jwks.jwksUri,
          appId: APP_ID,
          groupRoles: JSON.parse('{"constructor":"ctor_role","__proto__":"proto_role"}'),
          allowedRoles: ['ctor_role', 'proto_role'],
        },
      },
    });
    syncToken = (await gw.running.gateway.parts.credentials.store.create({ name: 'hr', scopes: ['users:sync'] })).token;
  });
  afterAll(async () => {
    await gw?.close();
    await jwks?.close();
  });

  const sync = (body: unknown) =>
    call(`${gw.url}/claimgate/api/v1/users/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${syncToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const me = (cookie: string) => call(`${gw.url}/claimgate/me`, { headers: { cookie } });

  it('an attribute named toString: sync 200, then sign-in, /me, admin GET and the admin list all answer 200', async () => {
    const r = await sync({ usercode: 'ctorvictim', attributes: { toString: ['x'], constructor: ['y'] } });
    expect(r.status).toBe(200);
    expect(r.json().results[0]).toMatchObject({ outcome: 'created' });

    const cookie = await gw.login({ sub: 'u-ctorvictim', preferred_username: 'ctorvictim', groups: [] });
    const mine = await me(cookie);
    expect(mine.status).toBe(200);
    const get = await gw.api('GET', '/users/ctorvictim');
    expect(get.status).toBe(200);
    expect(get.json().attributes.toString).toEqual([{ source: 'api', values: ['x'] }]);
    expect(get.json().attributes.constructor).toContainEqual({ source: 'api', values: ['y'] });
    const list = await gw.api('GET', '/users?limit=200');
    expect(list.status).toBe(200);
    expect(list.json().items.find((u: { usercode: string }) => u.usercode === 'ctorvictim').attributes.toString).toEqual([
      { source: 'api', values: ['x'] },
    ]);

    // Removing the attribute is seen as a removal (a plain object would find `toString` in itself).
    const removed = await sync({ usercode: 'ctorvictim', attributes: { constructor: ['y'] } });
    expect(removed.json().results[0]).toMatchObject({ outcome: 'updated' });
    const after = (await gw.api('GET', '/users/ctorvictim')).json();
    expect(Object.keys(after.attributes).sort()).toEqual(['constructor', 'region']);
    expect(after.attributes.constructor).toContainEqual({ source: 'api', values: ['y'] });
  });

  it('an attribute named __proto__ is stored as an attribute, not lost', async () => {
    const r = await sync(JSON.parse('{"usercode":"protovictim","attributes":{"__proto__":["p"]}}'));
    expect(r.json().results[0]).toMatchObject({ outcome: 'created' });
    const get = await gw.api('GET', '/users/protovictim');
    expect(get.status).toBe(200);
    expect(Object.keys(get.json().attributes)).toEqual(['__proto__']);
  });

  it('a mapping map: { constructor, __proto__ } maps those groups and nothing else; toString maps to nothing', async () => {
    const cookie = await gw.login({ sub: 'u-groups', preferred_username: 'groupsuser', groups: ['constructor', '__proto__', 'toString', 'hasOwnProperty'], ctor_claim: 'c' });
    const mine = await me(cookie);
    expect(mine.status).toBe(200);
    const user = (await gw.api('GET', '/users/groupsuser')).json();
    expect(user.roles.map((r: { name: string }) => r.name).sort()).toEqual(['ctor-role', 'proto-role']);
    expect(user.attributes.constructor).toEqual([{ source: 'mapping:corp', values: ['c'] }]);

    const plain = await gw.login({ sub: 'u-plain', preferred_username: 'plainuser', groups: ['toString'] });
    expect((await me(plain)).status).toBe(200);
    expect((await gw.api('GET', '/users/plainuser')).json().roles).toEqual([]);
  });

  it('SCIM role rules and mapping previews sent through the admin API keep a group or claim named __proto__', async () => {
    const rules = JSON.parse('{"groupRoles":{"__proto__":"proto_role","constructor":"ctor_role"},"userRoles":[]}');
    const saved = await gw.api('PUT', '/provisioning/scim-roles', { body: rules });
    expect(saved.status).toBe(200);
    expect(Object.keys(saved.json().groupRoles).sort()).toEqual(['__proto__', 'constructor']);
    const preview = await gw.api('POST', '/provisioning/scim-roles/preview', { body: { resource: { userName: 'p' }, groups: ['__proto__', 'toString'] } });
    expect(preview.status).toBe(200);
    expect(preview.json().roles).toEqual(['proto_role']);
    expect((await gw.api('DELETE', '/provisioning/scim-roles')).status).toBe(204);

    const claims = JSON.parse('{"sub":"u-pv","preferred_username":"pv","groups":["__proto__"],"__proto__":"x"}');
    const draft = JSON.parse(JSON.stringify({ ...DEFAULT_MAPPING, roles: [{ from: 'groups', map: JSON.parse('{"__proto__":"proto-role"}') }], attributes: { p: '"__proto__"' } }));
    const mapping = await gw.api('POST', '/mappings/corp/preview', { body: { claims, mapping: draft } });
    expect(mapping.status).toBe(200);
    expect(mapping.json().desired).toMatchObject({ roles: ['proto-role'], attributes: { p: ['x'] } });
  });

  describe('event receiver', () => {
    const post = async (events: TestEvent[]) =>
      call(`${gw.url}/claimgate/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json;charset=utf-8' },
        body: await pushBody(events, { key: eventKey }),
      });
    const pool = () => (gw.db.knex.client as unknown as { pool: { numUsed(): number } }).pool;

    it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
      'event type %s: a prompt 200 listing it in failedEvents, no connection left in a transaction',
      async (type) => {
        const started = Date.now();
        const res = await post([
          { eventId: `ev-${type}`, type, eventTime: 1, bizData: { userId: 'x' } },
          { eventId: `ev-ok-${type}`, type: 'common:test', eventTime: 2, bizData: {} },
        ]);
        expect(Date.now() - started).toBeLessThan(5000);
        expect(res.status).toBe(200);
        expect(res.json()).toMatchObject({
          successEvents: [{ eventId: `ev-ok-${type}` }],
          failedEvents: [{ eventId: `ev-${type}`, eventCode: 'FAILED', eventMessage: 'unknown event type' }],
          skippedEvents: [],
        });
        // Writes after the answer (the request log) may hold a connection for a moment; a stuck one never returns.
        await eventually(3000, async () => pool().numUsed() === 0);
        if (hasPostgres()) {
          const rows = (await gw.db.knex.raw(
            // Only this test's schema: a session idle in a transaction still holds its lock on our event_receipts.
            `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace s ON s.oid = c.relnamespace
               JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE s.nspname = current_schema() AND c.relname = 'event_receipts' AND a.state LIKE 'idle in transaction%'`,
          )) as { rows: { n: number }[] };
          expect(rows.rows[0]!.n).toBe(0);
        }
      },
      10_000,
    );

    it('groups named constructor / __proto__ grant what groupRoles says; toString grants nothing', async () => {
      const res = await post([
        { eventId: 'g-ctor', type: 'ud:group:create', eventTime: 10, bizData: { groupId: 'gc', groupName: 'constructor' } },
        { eventId: 'g-proto', type: 'ud:group:create', eventTime: 11, bizData: { groupId: 'gp', groupName: '__proto__' } },
        { eventId: 'g-ts', type: 'ud:group:create', eventTime: 12, bizData: { groupId: 'gt', groupName: 'toString' } },
        { eventId: 'u-1', type: 'ud:user:create', eventTime: 13, bizData: { userId: 'idaas-1', username: 'evuser', status: 'enabled' } },
        { eventId: 'u-2', type: 'ud:user:create', eventTime: 14, bizData: { userId: 'idaas-2', username: 'evuser2', status: 'enabled' } },
        { eventId: 'm-1', type: 'ud:group:add_user', eventTime: 15, bizData: { groupId: 'gc', userId: 'idaas-1' } },
        { eventId: 'm-2', type: 'ud:group:add_user', eventTime: 16, bizData: { groupId: 'gp', userId: 'idaas-1' } },
        { eventId: 'm-3', type: 'ud:group:add_user', eventTime: 17, bizData: { groupId: 'gt', userId: 'idaas-2' } },
      ]);
      expect(res.status).toBe(200);
      expect(res.json().failedEvents).toEqual([]);
      expect(res.json().successEvents).toHaveLength(8);
      const one = (await gw.api('GET', '/users/evuser')).json();
      expect(one.roles).toEqual([
        { name: 'ctor_role', source: 'events' },
        { name: 'proto_role', source: 'events' },
      ]);
      const two = await gw.api('GET', '/users/evuser2');
      expect(two.status).toBe(200);
      expect(two.json().roles).toEqual([]);
    });
  });

  it('a logged body with a __proto__ key keeps it, redacted like any other key', () => {
    const logged = JSON.stringify(redact(JSON.parse('{"__proto__":{"password":"pw-9f8e","user":"a"}}')));
    expect(logged).toContain('__proto__');
    expect(logged).toContain('"user":"a"');
    expect(logged).not.toContain('pw-9f8e');
  });

  it('a stored request-log body and an exception-log input shape keep a __proto__ key, masked like any other', () => {
    const body = () => JSON.parse('{"__proto__":{"password":"pw-7a6b","userName":"ada","kind":"k"},"constructor":{"displayName":"Ada"}}');
    const stored = maskedBodyValue(body()) as Record<string, unknown>;
    expect(Object.keys(stored)).toEqual(['__proto__', 'constructor']);
    expect(JSON.parse(JSON.stringify(stored))).toEqual(JSON.parse('{"__proto__":{"password":"[redacted]","userName":"[redacted]","kind":"k"},"constructor":{"displayName":"[redacted]"}}'));
    const shape = inputShape(body()) as Record<string, unknown>;
    expect(Object.keys(shape)).toEqual(['__proto__', 'constructor']);
    expect(JSON.stringify(shape)).not.toContain('ada');
  });
});
