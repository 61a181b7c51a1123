import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { makeKeyPair, startJwksServer, type JwksServer, type KeyPair } from '../../helpers/tokens.js';
import { within } from '../../helpers/wait.js';
import { APP_ID, pushBody, type PushOptions, type TestEvent } from './push.js';

const PASSWORD = 'Pw-never-stored-9f8e7d';

describe(`event receiver POST /claimgate/events (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let gw: TestGateway;
  let jwks: JwksServer;
  let key: KeyPair;
  const aesKey = randomBytes(32);

  beforeAll(async () => {
    key = await makeKeyPair('RS256', 'KEYidaas1');
    jwks = await startJwksServer([key.publicJwk]);
    gw = await startTestGateway({
      provisioning: {
        events: {
          jwksUri: jwks.jwksUri,
          appId: APP_ID,
          decryptionKey: aesKey.toString('hex'),
          groupRoles: { 'BI Admins': 'admin', 'ou-ext-finance': ['finance_viewer'], Blocked: 'not_allowed_role' },
          allowedRoles: ['admin', 'finance_viewer'],
        },
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await jwks?.close();
  });

  const post = (body: string) =>
    call(`${gw.url}/claimgate/events`, { method: 'POST', headers: { 'content-type': 'application/json;charset=utf-8' }, body });
  const send = async (events: TestEvent[], opts: Partial<PushOptions> = {}) => post(await pushBody(events, { key, encryptWith: aesKey, ...opts }));
  const knex = () => gw.db.knex;
  const snapshot = async () => ({
    users: await knex()('users').orderBy('id').select('id', 'usercode', 'lifecycle', 'version', 'email', 'display_name'),
    grants: await knex()('user_grants').orderBy(['user_id', 'kind', 'source', 'name']),
    groups: await knex()('event_groups').orderBy(['kind', 'id']).select('kind', 'id', 'name', 'external_id', 'parent_id'),
    members: await knex()('event_group_members').orderBy(['kind', 'group_id', 'idaas_user_id']),
    receipts: (await knex()('event_receipts').count({ n: '*' }))[0],
    audit: (await knex()('audit_events').count({ n: '*' }))[0],
  });

  const stream: TestEvent[] = [
    { eventId: 'e1', type: 'ud:organizational_unit:create', eventTime: 1000, bizData: { organizationalUnitId: 'ou1', organizationalUnitName: 'Finance', organizationalUnitExternalId: 'ou-ext-finance', parentId: 'root' } },
    { eventId: 'e2', type: 'ud:group:create', eventTime: 1001, bizData: { groupId: 'g1', groupName: 'BI Admins' } },
    {
      eventId: 'e3',
      type: 'ud:user:create',
      eventTime: 1002,
      bizData: {
        userId: 'user_ada',
        username: 'ada',
        userExternalId: 'W-0001',
        displayName: 'Ada Lovelace',
        email: 'ada@corp.test',
        password: PASSWORD,
        passwordSet: true,
        status: 'enabled',
        primaryOrganizationalUnitId: 'ou1',
        userOrganizationalUnits: [{ organizationalUnitId: 'ou1' }],
      },
    },
    { eventId: 'e4', type: 'ud:user:create', eventTime: 1003, bizData: { userId: 'user_bob', username: 'bob', displayName: 'Bob', status: 'enabled' } },
    { eventId: 'e5', type: 'ud:group:add_user', eventTime: 1004, bizData: { groupId: 'g1', userIds: ['user_ada', 'user_bob'] } },
    { eventId: 'e6', type: 'ud:user:update_password', eventTime: 1005, bizData: { userId: 'user_ada', password: PASSWORD } },
    { eventId: 'e7', type: 'ud:user:disable', eventTime: 1006, bizData: { userId: 'user_bob' } },
    { eventId: 'e8', type: 'ud:group:remove_user', eventTime: 1007, bizData: { groupId: 'g1', userId: 'user_bob' } },
    { eventId: 'e9', type: 'common:test', eventTime: 1008, bizData: {} },
  ];
  let streamBody: string;

  it('a signed and encrypted stream produces the expected users and groups', async () => {
    streamBody = await pushBody(stream, { key, encryptWith: aesKey });
    const res = await post(streamBody);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const answer = res.json();
    expect(answer.successEvents.map((e: { eventId: string }) => e.eventId)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
    expect(answer.successEvents[0]).toEqual({ eventId: 'e1', eventCode: 'SUCCESS', eventMessage: 'SUCCESS' });
    expect(answer).toMatchObject({ skippedEvents: [], failedEvents: [], retriedEvents: [] });
    // On a loaded machine the receiver queues (and acknowledges) what it could not apply within its time budget, to
    // be applied right after: the state is read once nothing is queued.
    await within(20_000, async () => Number(((await knex()('event_queue').count({ n: '*' }).first()) as { n: string | number }).n) === 0);

    const { users } = gw.running.gateway.parts;
    const ada = (await users.getByUsercode('ada'))!;
    expect(ada).toMatchObject({
      lifecycle: 'ACTIVE',
      email: 'ada@corp.test',
      displayName: 'Ada Lovelace',
      // The identity system's name (provisioning.events.idpSource, default IDAAS), not the channel's.
      idpSource: 'IDAAS',
      idpReferenceId: 'user_ada',
      idpWorkforceId: 'W-0001',
      tags: ['events'],
    });
    expect(ada.roles).toEqual([
      { name: 'admin', source: 'events' },
      { name: 'finance_viewer', source: 'events' },
    ]);
    const bob = (await users.getByUsercode('bob'))!;
    expect(bob.lifecycle).toBe('SUSPENDED');
    expect(bob.roles).toEqual([]);
    const s = await snapshot();
    expect(s.groups).toEqual([
      { kind: 'group', id: 'g1', name: 'BI Admins', external_id: null, parent_id: null },
      { kind: 'ou', id: 'ou1', name: 'Finance', external_id: 'ou-ext-finance', parent_id: 'root' },
    ]);
    expect(s.members.map((m) => `${m.kind}:${m.group_id}:${m.idaas_user_id}`)).toEqual(['group:g1:user_ada', 'ou:ou1:user_ada']);
  });

  it('replaying the push changes nothing and is acknowledged again', async () => {
    const before = await snapshot();
    const res = await post(streamBody);
    expect(res.status).toBe(200);
    expect(res.json().successEvents).toHaveLength(9);
    expect(await snapshot()).toEqual(before);
  });

  it('an event older than what is stored is skipped and listed', async () => {
    const before = await snapshot();
    const res = await send([{ eventId: 'old-1', type: 'ud:user:update_info', eventTime: 900, bizData: { userId: 'user_ada', displayName: 'Stale Name' } }]);
    expect(res.status).toBe(200);
    expect(res.json().skippedEvents).toEqual([{ eventId: 'old-1', eventCode: 'SKIPPED', eventMessage: expect.stringContaining('older') }]);
    const after = await snapshot();
    expect(after.users).toEqual(before.users);
    // A newer one applies; enabling bob restores nothing he lost, the group removal stays.
    const res2 = await send(
      [
        { eventId: 'new-1', type: 'ud:user:update_info', eventTime: 2000, bizData: { userId: 'user_ada', displayName: 'Ada King' } },
        { eventId: 'new-2', type: 'ud:user:enable', eventTime: 2001, bizData: { userId: 'user_bob' } },
        { eventId: 'new-3', type: 'ud:user:create', eventTime: 2002, bizData: { userId: 'user_x' } },
      ],
      { encryptWith: undefined },
    );
    expect(res2.status).toBe(200);
    expect(res2.json().successEvents.map((e: { eventId: string }) => e.eventId)).toEqual(['new-1', 'new-2']);
    expect(res2.json().failedEvents).toEqual([{ eventId: 'new-3', eventCode: 'FAILED', eventMessage: 'bizData.username is missing' }]);
    expect((await gw.running.gateway.parts.users.getByUsercode('ada'))!.displayName).toBe('Ada King');
    expect((await gw.running.gateway.parts.users.getByUsercode('bob'))!.lifecycle).toBe('ACTIVE');
  });

  it('never stores or logs a password', async () => {
    const tables = ['users', 'audit_events', 'event_receipts', 'event_subjects', 'event_groups', 'event_group_members', 'job_runs'];
    const hasRequestLogs = await knex().schema.hasTable('request_logs');
    for (const t of hasRequestLogs ? [...tables, 'request_logs'] : tables) {
      const rows = await knex()(t).select();
      expect(JSON.stringify(rows)).not.toContain(PASSWORD);
    }
    expect(gw.logs.join('\n')).not.toContain(PASSWORD);
  });

  it.each<[string, () => Promise<string>, number]>([
    ['not JSON', async () => 'event=abc', 400],
    ['no event member', async () => JSON.stringify({ jwt: 'x' }), 400],
    ['unsigned (alg none)', () => pushBody([userEvent()], { key, unsigned: true }), 400],
    ['signed by another key with the same kid', async () => pushBody([userEvent()], { key: await makeKeyPair('RS256', 'KEYidaas1') }), 400],
    ['signed by an unknown kid', async () => pushBody([userEvent()], { key: await makeKeyPair('RS256', 'KEYother') }), 400],
    ['for another application (aud)', () => pushBody([userEvent()], { key, aud: 'app_other' }), 400],
    ['from another issuer', () => pushBody([userEvent()], { key, iss: 'urn:evil' }), 400],
    ['expired', () => pushBody([userEvent()], { key, now: Math.floor(Date.now() / 1000) - 3600, ttl: 300 }), 400],
    ['encrypted with another key', () => pushBody([userEvent()], { key, encryptWith: randomBytes(32) }), 400],
    ['encrypted with an enc that does not match the key length', () => pushBody([userEvent()], { key, encryptWith: randomBytes(16), enc: 'A128GCM' }), 400],
    ['larger than maxBodyBytes (16 MiB by default)', async () => JSON.stringify({ event: 'x'.repeat(16 * 1024 * 1024) }), 400],
  ])('a push %s gets the format error and changes nothing', async (_name, body, status) => {
    const before = await snapshot();
    const res = await post(await body());
    expect(res.status).toBe(status);
    const json = res.json();
    expect(Object.keys(json).sort()).toEqual(['error', 'errorDescription']);
    expect(json.error).toBe('bad_request');
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(await snapshot()).toEqual(before);
    expect(await gw.running.gateway.parts.users.getByUsercode('mallory')).toBeNull();
  });
});

function userEvent(): TestEvent {
  return { eventId: randomUUID(), type: 'ud:user:create', eventTime: 5000, bizData: { userId: 'user_mallory', username: 'mallory', status: 'enabled' } };
}
