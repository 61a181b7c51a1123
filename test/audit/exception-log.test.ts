import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { call } from '../helpers/gateway.js';
import { makeKeyPair, startJwksServer, type JwksServer, type KeyPair } from '../helpers/tokens.js';
import { eventually, startAdminGateway, type AdminGateway } from '../admin/helpers.js';
import { APP_ID, pushBody } from '../provisioning/events/push.js';

const PII = 'ann.exception-pii@corp.test';

/** Exception rows: one per unhandled error, whichever router raised it, with the route template and no PII. */
describe(`exception log from every route (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let gw: AdminGateway;
  let jwks: JwksServer;
  let key: KeyPair;
  const aesKey = randomBytes(32);
  let scimToken: string;
  let syncToken: string;

  beforeAll(async () => {
    key = await makeKeyPair('RS256', 'KEYexc');
    jwks = await startJwksServer([key.publicJwk]);
    gw = await startAdminGateway({
      console: { enabled: true, readRoles: ['admin'] },
      provisioning: { events: { jwksUri: jwks.jwksUri, appId: APP_ID, decryptionKey: aesKey.toString('hex') } },
    });
    const store = gw.running.gateway.parts.credentials.store;
    scimToken = (await store.create({ name: 'exc-scim', scopes: ['scim'] })).token;
    syncToken = (await store.create({ name: 'exc-sync', scopes: ['users:sync'] })).token;
  });
  afterAll(async () => {
    await gw?.close();
    await jwks?.close();
  });

  /** Runs `fn` while `table` is missing: a real database failure below the route. */
  const withoutTable = async <T>(table: string, fn: () => Promise<T>): Promise<T> => {
    await gw.db.knex.raw('ALTER TABLE ?? RENAME TO ??', [table, `${table}_gone`]);
    try {
      return await fn();
    } finally {
      await gw.db.knex.raw('ALTER TABLE ?? RENAME TO ??', [`${table}_gone`, table]);
    }
  };
  /** The exception rows of a route template; rows are written after the answer, so this waits for more than `seen`. */
  const exceptionRows = (path: string, seen = 0) =>
    eventually(3000, async () => {
      const rows = (await gw.db.knex('request_logs').where({ kind: 'exception', path }).orderBy('id')) as Record<string, any>[];
      return rows.length > seen && rows;
    });
  const exceptionRow = async (path: string) => (await exceptionRows(path))[0]!;
  const detailOf = (row: Record<string, any>) => (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as Record<string, any>;

  it('a SCIM route: the SCIM error body answers, and an exception row is written with the template', async () => {
    const r = await withoutTable('users', () =>
      call(`${gw.url}/claimgate/scim/v2/Users/${encodeURIComponent(PII)}`, { headers: { authorization: `Bearer ${scimToken}` } }),
    );
    expect(r.status).toBe(500);
    expect(r.json().schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    const row = await exceptionRow('/claimgate/scim/v2/Users/:id');
    const d = detailOf(row);
    expect(row).toMatchObject({ method: 'GET', status: 500 });
    expect(row.request_id).toEqual(expect.any(String));
    expect(d.route).toBe('/claimgate/scim/v2/Users/:id');
    expect(d.class).toEqual(expect.any(String));
    expect(String(d.stack ?? d.cause?.stack)).toMatch(/at /);
    expect(JSON.stringify(d)).toMatch(/users/);
    expect(d.input).toMatchObject({ params: ['id'] });
    // logs.clientIp defaults to truncated: the exception row and the call's request row keep the /24 only.
    expect(row.client_ip).toBe('127.0.0.0');
    const requestRow = await eventually(3000, async () => (await gw.db.knex('request_logs').where({ kind: 'request', request_id: row.request_id }).first()) as Record<string, any> | undefined);
    expect(requestRow).toMatchObject({ path: '/claimgate/scim/v2/Users/:id', status: 500, client_ip: '127.0.0.0' });
    expect(JSON.stringify(row)).not.toContain(PII);
    expect(JSON.stringify(row)).not.toContain('ann.exception-pii');
  });

  it('the event receiver: a store failure answers 500 in the format and writes an exception row', async () => {
    const body = await pushBody(
      [{ type: 'ud:user:create', eventTime: 1, bizData: { userId: 'u-exc', username: 'exc-user', email: PII, displayName: 'Exc' } }],
      { key, encryptWith: aesKey },
    );
    const r = await withoutTable('event_receipts', () =>
      call(`${gw.url}/claimgate/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    );
    expect(r.status).toBe(500);
    expect(r.json()).toMatchObject({ error: 'internal_error' });
    const row = await exceptionRow('/claimgate/events');
    const d = detailOf(row);
    expect(d.class).toBe('EventPushError');
    expect(JSON.stringify(d.cause)).toMatch(/event_receipts/);
    expect(JSON.stringify(row)).not.toContain(PII);
  });

  it('the console: a database failure behind its page answers 500 (not a sign-in redirect) and writes an exception row', async () => {
    const cookie = await gw.login();
    const page = await withoutTable('sessions', () =>
      call(`${gw.url}/claimgate/console/users/${encodeURIComponent(PII)}`, { headers: { accept: 'text/html', cookie } }),
    );
    expect(page.status).toBe(500);
    const row = await exceptionRow('/claimgate/console/*rest');
    expect(row).toMatchObject({ method: 'GET', status: 500 });
    expect(String(detailOf(row).stack ?? detailOf(row).cause?.stack)).toMatch(/at /);
    expect(JSON.stringify(row)).not.toContain(PII);
    // The console's data calls are admin API calls made with the session cookie: the same rows.
    const data = await withoutTable('users', () => call(`${gw.url}/claimgate/admin/v1/users/${encodeURIComponent(PII)}`, { headers: { cookie } }));
    expect(data.status).toBe(500);
    const rows = await exceptionRows('/claimgate/admin/v1/users/:id');
    expect(JSON.stringify(rows)).not.toContain(PII);
  });

  it('the sync API, the token endpoint and the admin API write exception rows too', async () => {
    const sync = await withoutTable('users', () =>
      call(`${gw.url}/claimgate/api/v1/users/sync`, {
        method: 'POST',
        headers: { authorization: `Bearer ${syncToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ usercode: 'exc-sync-user', email: PII }),
      }),
    );
    expect(sync.status).toBe(500);
    const syncRow = await exceptionRow('/claimgate/api/v1/users/sync');
    expect(detailOf(syncRow)).toMatchObject({ route: '/claimgate/api/v1/users/sync', input: { body: { usercode: '[string 13]', email: `[string ${PII.length}]` } } });
    expect(JSON.stringify(syncRow)).not.toContain(PII);

    const store = gw.running.gateway.parts.credentials.store;
    const original = store.authenticateClient.bind(store);
    store.authenticateClient = async () => {
      throw new Error('credential store unreachable');
    };
    try {
      const tok = await call(`${gw.url}/claimgate/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&client_id=some-client&client_secret=cgs_not-a-real-secret-but-long-enough',
      });
      expect(tok.status).toBe(500);
    } finally {
      store.authenticateClient = original;
    }
    const tokenRow = await exceptionRow('/claimgate/oauth/token');
    expect(detailOf(tokenRow).message).toBe('credential store unreachable');
    expect(JSON.stringify(tokenRow)).not.toContain('some-client');
    expect(JSON.stringify(tokenRow)).not.toContain('cgs_not-a-real');

    // Earlier calls of this route (the console test's) left rows of their own: this call's row is one more.
    const earlier = (await gw.db.knex('request_logs').where({ kind: 'exception', path: '/claimgate/admin/v1/users/:id' })).length;
    const admin = await withoutTable('users', () => gw.api('GET', `/users/${encodeURIComponent(PII)}`));
    expect(admin.status).toBe(500);
    const adminRow = (await exceptionRows('/claimgate/admin/v1/users/:id', earlier)).at(-1);
    expect(JSON.stringify(adminRow)).not.toContain(PII);
    // A refusal (4xx) is not an exception: after a 404 and then a 500 on the same route, only the 500 has a row
    // (a row is written when its answer has gone out, so the 500's row means the 404's would be there too).
    const seen = (await gw.db.knex('request_logs').where({ kind: 'exception', path: '/claimgate/admin/v1/users/:id' })).length;
    expect((await gw.api('GET', '/users/nobody-here')).status).toBe(404);
    expect((await withoutTable('users', () => gw.api('GET', '/users/somebody-else'))).status).toBe(500);
    const after = await exceptionRows('/claimgate/admin/v1/users/:id', seen);
    expect(after.length).toBe(seen + 1);
    const rows = (await gw.db.knex('request_logs').where({ kind: 'exception' })) as Record<string, any>[];
    expect(rows.every((x) => Number(x.status) >= 500)).toBe(true);
  });
});
