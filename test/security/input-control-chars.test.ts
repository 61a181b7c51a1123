import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call } from '../helpers/gateway.js';
import { hasPostgres } from '../helpers/db.js';
import { makeKeyPair, startJwksServer, type JwksServer, type KeyPair } from '../helpers/tokens.js';
import { rowCounts, startAdminGateway, type AdminGateway } from '../admin/helpers.js';
import { APP_ID, pushBody } from '../provisioning/events/push.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8').toString('base64url');

/**
 * NUL and other control characters from every writer, and crafted cursors: a 400 with a stable code (or a
 * per-item failure), never a 500, nothing half-written; display texts cleaned, identifiers refused.
 */
describe(`control characters and crafted cursors (${hasPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let gw: AdminGateway;
  let jwks: JwksServer;
  let eventKey: KeyPair;
  let syncToken: string;

  beforeAll(async () => {
    eventKey = await makeKeyPair('RS256', 'KEYctl');
    jwks = await startJwksServer([eventKey.publicJwk]);
    gw = await startAdminGateway({
      routes: [{ path: '/*', anyRole: ['admin', 'viewer'] }],
      provisioning: { events: { jwksUri: jwks.jwksUri, appId: APP_ID } },
    });
    syncToken = (await gw.running.gateway.parts.credentials.store.create({ name: 'hr', scopes: ['users:sync'] })).token;
  });
  afterAll(async () => {
    await gw?.close();
    await jwks?.close();
  });

  const sso = async (claims: Record<string, unknown>) => call(`${gw.url}/claimgate/sso?jwt=${await gw.token(claims)}`, { headers: { accept: 'application/json' } });
  const sync = (body: unknown) =>
    call(`${gw.url}/claimgate/api/v1/users/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${syncToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const scim = (method: string, path: string, body?: unknown) =>
    call(`${gw.url}/claimgate/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${gw.tokens.scim}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  describe('sign-in claims', () => {
    it.each([
      ['a NUL in name', { sub: 'u-nul', preferred_username: 'nuluser', name: 'x\u0000y' }],
      ['a NUL in the usercode claim', { sub: 'u-nul2', preferred_username: 'nul\u0000user' }],
      ['a line break in the usercode claim', { sub: 'u-crlf', preferred_username: 'ada\r\nX-Claimgate-Roles: admin' }],
      ['a NUL in sub', { sub: 'u-\u0000', preferred_username: 'subuser' }],
      ['a NUL in jti', { sub: 'u-jti', preferred_username: 'jtiuser', jti: 'j\u0000' }],
    ])('%s: 400 claim_invalid (or token_malformed for jti), nothing written', async (_name, claims: Record<string, unknown>) => {
      const before = await rowCounts(gw);
      const r = await sso(claims);
      expect(r.status).toBe(claims.jti ? 401 : 400);
      expect(r.json().code).toBe(claims.jti ? 'token_malformed' : 'claim_invalid');
      expect(r.text).not.toContain('\u0000');
      // The link's jti is spent (it was presented); nothing else is written.
      expect({ ...(await rowCounts(gw)), used_jtis: 0 }).toEqual({ ...before, used_jtis: 0 });
    });

    it('line breaks in a display name are cleaned: the user signs in and no header is split', async () => {
      const r = await sso({ sub: 'u-clean', preferred_username: 'cleanuser', name: 'Ada\r\nX-Injected: yes\tLovelace\u0085', groups: ['bi-admins'] });
      expect(r.status).toBe(303);
      const cookie = String(([] as string[]).concat(r.headers['set-cookie'] as string[])[0]).split(';')[0]!;
      const user = (await gw.api('GET', '/users/cleanuser')).json();
      expect(user.displayName).toBe('Ada X-Injected: yes Lovelace ');
      const app = await call(`${gw.url}/reports/1`, { headers: { cookie } });
      expect(app.status).toBe(200);
      const seen = gw.app.seen.at(-1)!;
      expect(seen.headers['x-injected']).toBeUndefined();
      for (const v of Object.values(seen.headers)) expect(String(v)).not.toMatch(/[\r\n]/);
    });
  });

  describe('admin API', () => {
    it.each(['/users?q=%00', '/users?role=a%0d%0ab', '/users/%00', '/audit?usercode=%00', '/request-logs?cursor=%00'])('GET %s: 400 invalid_request', async (path) => {
      const r = await gw.api('GET', path);
      expect(r.status).toBe(400);
      expect(r.json().code).toBe('invalid_request');
    });

    it('PATCH displayName "\\u0000": 400 text_invalid and the user is unchanged; a line break is cleaned', async () => {
      await sync({ usercode: 'patchme', displayName: 'Before' });
      const before = (await gw.api('GET', '/users/patchme')).json();
      const r = await gw.api('PATCH', '/users/patchme', { body: { displayName: '\u0000', email: 'new@example.test' }, contentType: 'application/merge-patch+json' });
      expect(r.status).toBe(400);
      expect(r.json().code).toBe('text_invalid');
      const after = (await gw.api('GET', '/users/patchme')).json();
      expect(after).toMatchObject({ displayName: 'Before', email: null, version: before.version });
      const ok = await gw.api('PATCH', '/users/patchme', { body: { displayName: 'Line\nBreak' }, contentType: 'application/merge-patch+json' });
      expect(ok.status).toBe(200);
      expect(ok.json().displayName).toBe('Line Break');
      const role = await gw.api('PATCH', '/users/patchme', { body: { adminRoles: ['ad\u0000min'] }, contentType: 'application/merge-patch+json' });
      expect(role.status).toBe(400);
    });

    const crafted: [string, string][] = [
      ['an SQL string', b64(["' OR 1=1 --"])],
      ['a string where a number belongs', b64(['123'])],
      ['a fraction', b64([1.5])],
      ['a negative number', b64([-1])],
      ['a huge number', b64([1e300])],
      ['two parts', b64([1, 2])],
      ['an object', b64({ id: 1 })],
      ['not JSON', b64('[1')],
      ['not base64url JSON at all', '%%%'],
    ];
    it.each(crafted)('/audit and /request-logs with a cursor holding %s: 400 cursor_invalid', async (_name, cursor) => {
      for (const path of ['/audit', '/request-logs']) {
        const r = await gw.api('GET', `${path}?cursor=${encodeURIComponent(cursor)}`);
        expect(r.status).toBe(400);
        expect(r.json().code).toBe('cursor_invalid');
      }
    });
    it.each([
      ['a number where an id belongs', b64([123])],
      ['an SQL string', b64(["' OR 1=1 --"])],
      ['a NUL', b64(['a\u0000'])],
      ['an empty id', b64([''])],
    ])('/users with a cursor holding %s: 400 cursor_invalid', async (_name, cursor) => {
      const r = await gw.api('GET', `/users?cursor=${encodeURIComponent(cursor)}`);
      expect(r.status).toBe(400);
      expect(r.json().code).toBe('cursor_invalid');
    });
    it('cursors the API gave out still work', async () => {
      for (const path of ['/users?limit=1', '/audit?limit=1']) {
        const first = (await gw.api('GET', path)).json();
        expect(first.nextCursor).toEqual(expect.any(String));
        const next = await gw.api('GET', `${path}&cursor=${first.nextCursor}`);
        expect(next.status).toBe(200);
      }
    });
  });

  describe('sync API', () => {
    it('one item with a NUL fails alone; the others are applied', async () => {
      const r = await sync([
        { usercode: 'batch-ok-1', displayName: 'One' },
        { usercode: 'batch-bad', displayName: 'x\u0000y' },
        { usercode: 'batch-\u0000', displayName: 'Two' },
        { usercode: 'batch-attr', attributes: { region: ['E\u0000U'] } },
        { usercode: 'batch-role', roles: ['ad\nmin'] },
        { usercode: 'batch-ok-2', displayName: 'Three\r\nLines' },
      ]);
      expect(r.status).toBe(200);
      const results = r.json().results;
      expect(results.map((x: { outcome: string }) => x.outcome)).toEqual(['created', 'failed', 'failed', 'failed', 'failed', 'created']);
      expect(results[1].errors).toEqual([expect.objectContaining({ field: 'displayName', code: 'invalid_characters' })]);
      expect(results[2]).toMatchObject({ usercode: null, errors: [expect.objectContaining({ field: 'usercode', code: 'invalid_characters' })] });
      expect(results[4].errors).toEqual([expect.objectContaining({ field: 'roles[0]', code: 'invalid_characters' })]);
      expect(r.text).not.toContain('\\u0000');
      for (const code of ['batch-bad', 'batch-attr', 'batch-role']) expect((await gw.api('GET', `/users/${code}`)).status).toBe(404);
      expect((await gw.api('GET', '/users/batch-ok-2')).json().displayName).toBe('Three Lines');
    });
  });

  describe('SCIM', () => {
    it.each([
      ['userName', { userName: 'scim\u0000user' }],
      ['name.givenName', { userName: 'scimgiven', name: { givenName: 'A\u0000' } }],
      ['an address nobody maps', { userName: 'scimaddr', addresses: [{ locality: 'x\u0000' }] }],
      ['displayName with a line break', { userName: 'scimctl\r\n' }],
    ])('POST with a control character in %s: 400 invalidValue, nothing written', async (_name, resource) => {
      const before = await rowCounts(gw);
      const r = await scim('POST', '/Users', { schemas: [USER], active: true, ...resource });
      expect(r.status).toBe(400);
      expect(r.json()).toMatchObject({ status: '400', scimType: 'invalidValue' });
      expect(await rowCounts(gw)).toEqual(before);
    });
    it('a filter value with a NUL: 400, not 500', async () => {
      const r = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "a\u0000"')}`);
      expect(r.status).toBe(400);
    });
  });

  describe('event receiver', () => {
    it('an event with a NUL in its data is failed; the other events of the push apply', async () => {
      const res = await call(`${gw.url}/claimgate/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json;charset=utf-8' },
        body: await pushBody(
          [
            { eventId: 'nul-1', type: 'ud:user:create', eventTime: 1, bizData: { userId: 'i1', username: 'evnul', displayName: 'x\u0000' } },
            { eventId: 'nul-2', type: 'ud:user:create', eventTime: 2, bizData: { userId: 'i2', username: 'ev\nname' } },
            { eventId: 'nul-3', type: 'ud:group:create', eventTime: 3, bizData: { groupId: 'g\u0000', groupName: 'G' } },
            { eventId: 'ok-1', type: 'ud:user:create', eventTime: 4, bizData: { userId: 'i3', username: 'evok', displayName: 'Ev\r\nOk' } },
          ],
          { key: eventKey },
        ),
      });
      expect(res.status).toBe(200);
      const a = res.json();
      expect(a.failedEvents.map((e: { eventId: string }) => e.eventId)).toEqual(['nul-1', 'nul-2', 'nul-3']);
      expect(a.successEvents.map((e: { eventId: string }) => e.eventId)).toEqual(['ok-1']);
      expect((await gw.api('GET', '/users/evnul')).status).toBe(404);
      expect((await gw.api('GET', '/users/evok')).json().displayName).toBe('Ev Ok');
    });
  });
});
