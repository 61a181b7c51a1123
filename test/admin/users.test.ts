import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call } from '../helpers/gateway.js';
import { startAdminGateway, type AdminGateway } from './helpers.js';

const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

describe(`admin API: users (${db})`, () => {
  let gw: AdminGateway;
  beforeAll(async () => {
    gw = await startAdminGateway();
    await gw.login({ preferred_username: 'ada', sub: 'u-ada', groups: ['bi-admins'], email: 'ada@example.test', name: 'Ada Lovelace' });
    await gw.login({ preferred_username: 'grace', sub: 'u-grace', groups: ['bi-analysts'], email: 'grace@navy.test', name: 'Grace Hopper' });
    await gw.login({ preferred_username: 'alan', sub: 'u-alan', groups: [], email: 'alan@example.test', name: 'Alan 100%_Turing' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('lists with q, role and lifecycle filters and keyset pagination', async () => {
    const all = (await gw.api('GET', '/users', { token: gw.tokens.read })).json();
    expect(all.items.map((u: { usercode: string }) => u.usercode)).toEqual(['ada', 'grace', 'alan']);
    expect(all.nextCursor).toBeNull();
    expect(all.items[0]).toMatchObject({ usercode: 'ada', lifecycle: 'ACTIVE', roles: [{ name: 'admin', source: 'mapping:corp' }], email: 'ada@example.test' });

    const q = async (qs: string) => (await gw.api('GET', `/users?${qs}`)).json().items.map((u: { usercode: string }) => u.usercode);
    expect(await q('q=EXAMPLE.test')).toEqual(['ada', 'alan']);
    expect(await q('q=hopper')).toEqual(['grace']);
    expect(await q(`q=${encodeURIComponent('100%_')}`)).toEqual(['alan']);
    expect(await q(`q=${encodeURIComponent('%')}`)).toEqual(['alan']);
    expect(await q('role=analyst')).toEqual(['grace']);
    expect(await q('role=viewer&q=alan')).toEqual(['alan']);
    expect(await q('lifecycle=SUSPENDED')).toEqual([]);

    const p1 = (await gw.api('GET', '/users?limit=2')).json();
    expect(p1.items.map((u: { usercode: string }) => u.usercode)).toEqual(['ada', 'grace']);
    expect(typeof p1.nextCursor).toBe('string');
    const p2 = (await gw.api('GET', `/users?limit=2&cursor=${p1.nextCursor}`)).json();
    expect(p2).toMatchObject({ items: [{ usercode: 'alan' }], nextCursor: null });

    expect((await gw.api('GET', '/users?cursor=garbage')).json()).toMatchObject({ status: 400, code: 'cursor_invalid' });
    const bad = (await gw.api('GET', '/users?limit=0&lifecycle=GONE&colour=red')).json();
    expect(bad).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(bad.problems.map((p: { path: string }) => p.path).sort()).toEqual(['query', 'query.lifecycle', 'query.limit']);
  });

  it('PATCH refuses an e-mail that is not a single address', async () => {
    const r = await gw.api('PATCH', '/users/alan', { body: { email: 'alan@evil.example@example.test' } });
    expect(r.status).toBe(400);
    expect((await gw.api('GET', '/users/alan')).json().email).toBe('alan@example.test');
  });

  it('gets a user by id or usercode, 404 otherwise', async () => {
    const byCode = (await gw.api('GET', '/users/GRACE', { token: gw.tokens.read })).json();
    expect(byCode).toMatchObject({ usercode: 'grace', displayName: 'Grace Hopper', identities: [{ issuerId: 'corp', sub: 'u-grace' }] });
    expect((await gw.api('GET', `/users/${byCode.id}`)).json().usercode).toBe('grace');
    expect((await gw.api('GET', '/users/nobody')).json()).toMatchObject({ status: 404, code: 'user_not_found' });
  });

  it('PATCH as a JSON merge patch: profile fields, adminRoles that survive logins', async () => {
    const r = await gw.api('PATCH', '/users/grace', {
      contentType: 'application/merge-patch+json',
      body: { firstName: 'Grace', lastName: 'Hopper', tags: ['navy'], adminRoles: ['finance_viewer'] },
    });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({
      firstName: 'Grace',
      lastName: 'Hopper',
      tags: ['navy'],
      roles: [
        { name: 'analyst', source: 'mapping:corp' },
        { name: 'finance_viewer', source: 'admin' },
      ],
    });
    // The next login replaces the mapping's roles only.
    await gw.login({ preferred_username: 'grace', sub: 'u-grace', groups: ['bi-admins'], email: 'grace@navy.test', name: 'Grace Hopper' });
    const after = (await gw.api('GET', '/users/grace')).json();
    expect(after.roles).toEqual([
      { name: 'admin', source: 'mapping:corp' },
      { name: 'finance_viewer', source: 'admin' },
    ]);
    expect(after.lastName).toBe('Hopper');
    // null clears (application/json works too).
    const cleared = (await gw.api('PATCH', '/users/grace', { body: { lastName: null, adminRoles: null } })).json();
    expect(cleared.lastName).toBeNull();
    expect(cleared.roles).toEqual([{ name: 'admin', source: 'mapping:corp' }]);

    expect((await gw.api('PATCH', '/users/grace', { body: { usercode: 'x', lifecycle: 'ASLEEP' } })).json()).toMatchObject({ status: 400, code: 'invalid_request' });
    expect((await gw.api('PATCH', '/users/grace', { body: 'lastName=x', contentType: 'text/plain' })).json()).toMatchObject({ status: 415 });
    expect((await gw.api('PATCH', '/users/grace', { body: '{"lastName":', contentType: 'application/json' })).json()).toMatchObject({ status: 400, code: 'body_malformed' });
    expect((await gw.api('PATCH', '/users/grace', { body: { lastName: 'x' }, token: gw.tokens.read })).json()).toMatchObject({ status: 403, code: 'insufficient_scope' });
  });

  it('suspending ends the sessions at once; reactivating lets the user sign in again', async () => {
    const cookie = await gw.login({ preferred_username: 'ada', sub: 'u-ada' });
    expect((await call(`${gw.url}/app`, { headers: { cookie } })).status).toBe(200);
    const sessions = (await gw.api('GET', '/users/ada/sessions', { token: gw.tokens.read })).json();
    expect(sessions.items.length).toBeGreaterThanOrEqual(2);
    expect(sessions.items[0]).toMatchObject({ issuerId: 'corp' });
    expect(JSON.stringify(sessions)).not.toContain(cookie.split('=')[1]!);

    expect((await gw.api('PATCH', '/users/ada', { body: { lifecycle: 'SUSPENDED' } })).json().lifecycle).toBe('SUSPENDED');
    expect((await call(`${gw.url}/app`, { headers: { cookie } })).status).toBe(401);
    expect((await gw.api('GET', '/users/ada/sessions')).json().items).toEqual([]);
    expect((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ preferred_username: 'ada', sub: 'u-ada' })}`)).status).toBe(403);
    expect((await gw.api('GET', '/users?lifecycle=SUSPENDED')).json().items.map((u: { usercode: string }) => u.usercode)).toEqual(['ada']);

    const back = (await gw.api('PATCH', '/users/ada', { body: { lifecycle: 'ACTIVE' } })).json();
    expect(back).toMatchObject({ lifecycle: 'ACTIVE', roles: [{ name: 'admin', source: 'mapping:corp' }] });
    expect((await call(`${gw.url}/app`, { headers: { cookie } })).status).toBe(401);
    await gw.login({ preferred_username: 'ada', sub: 'u-ada' });
  });

  it('DELETE …/sessions ends every session; DELETE …/users/:id removes the user, the audit trail stays', async () => {
    const cookie = await gw.login({ preferred_username: 'alan', sub: 'u-alan' });
    expect((await call(`${gw.url}/app`, { headers: { cookie } })).status).toBe(200);
    expect((await gw.api('DELETE', '/users/alan/sessions', { token: gw.tokens.read })).status).toBe(403);
    expect((await gw.api('DELETE', '/users/alan/sessions')).status).toBe(204);
    expect((await call(`${gw.url}/app`, { headers: { cookie } })).status).toBe(401);

    const again = await gw.login({ preferred_username: 'alan', sub: 'u-alan' });
    const id = (await gw.api('GET', '/users/alan')).json().id as string;
    expect((await gw.api('DELETE', `/users/${id}`)).status).toBe(204);
    expect((await gw.api('GET', `/users/${id}`)).status).toBe(404);
    expect((await call(`${gw.url}/app`, { headers: { cookie: again } })).status).toBe(401);
    expect((await gw.api('DELETE', `/users/${id}`)).status).toBe(404);
    const trail = (await gw.api('GET', `/audit?user=${id}&type=user_deleted,sessions_revoked`)).json();
    expect(trail.items.map((e: { type: string; actor: string }) => `${e.type} by ${e.actor}`)).toEqual([
      'user_deleted by admin:platform-team',
      'sessions_revoked by admin:platform-team',
    ]);
  });
});
