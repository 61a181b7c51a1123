import { it, expect, beforeAll, afterAll } from '@jest/globals';
import { describeIfPostgres } from '../helpers/db.js';
import { call, cookieOf, startAnotherInstance, startTestGateway, type OtherInstance, type TestGateway } from '../helpers/gateway.js';
import { ACROSS_PROCESSES_MS, within } from '../helpers/wait.js';


describeIfPostgres('two gateway instances on one PostgreSQL database', () => {
  let a: TestGateway;
  let b: OtherInstance;
  beforeAll(async () => {
    a = await startTestGateway();
    b = await startAnotherInstance(a);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('a session made on one instance works on the other, and logout ends it on both', async () => {
    const res = await call(`${a.url}/claimgate/sso?jwt=${await a.token()}`);
    const cookie = cookieOf(res.headers['set-cookie']);
    expect((await call(`${b.url}/x`, { headers: { cookie } })).status).toBe(200);
    expect((await call(`${a.url}/x`, { headers: { cookie } })).status).toBe(200);
    await call(`${a.url}/claimgate/logout`, { method: 'POST', headers: { cookie } });
    await within(ACROSS_PROCESSES_MS, async () => (await call(`${b.url}/x`, { headers: { cookie } })).status === 401);
  });

  it('a suspension on one instance stops sessions and bearer tokens on the other', async () => {
    const res = await call(`${a.url}/claimgate/sso?jwt=${await a.token({ preferred_username: 'frank', sub: 'u-frank' })}`);
    const cookie = cookieOf(res.headers['set-cookie']);
    const bearer = await a.token({ preferred_username: 'frank', sub: 'u-frank' }, { noJti: true });
    expect((await call(`${b.url}/x`, { headers: { cookie } })).status).toBe(200);
    expect((await call(`${b.url}/x`, { headers: { authorization: `Bearer ${bearer}` } })).status).toBe(200);
    const user = await a.running.gateway.parts.users.getByUsercode('frank');
    await a.running.gateway.parts.users.setLifecycle(user!.id, 'SUSPENDED');
    await within(ACROSS_PROCESSES_MS, async () => (await call(`${b.url}/x`, { headers: { cookie } })).status === 401);
    expect((await call(`${b.url}/x`, { headers: { authorization: `Bearer ${bearer}` } })).status).toBe(403);
  });

  it('a role change at login on one instance reaches the other', async () => {
    const res = await call(`${a.url}/claimgate/sso?jwt=${await a.token({ preferred_username: 'gina', sub: 'u-gina', groups: ['bi-analysts'] })}`);
    const cookie = cookieOf(res.headers['set-cookie']);
    expect((await call(`${b.url}/x`, { headers: { cookie } })).json().headers['x-claimgate-roles']).toBe('analyst');
    await call(`${a.url}/claimgate/sso?jwt=${await a.token({ preferred_username: 'gina', sub: 'u-gina', groups: ['bi-admins'] })}`);
    await within(ACROSS_PROCESSES_MS, async () => (await call(`${b.url}/x`, { headers: { cookie } })).json().headers['x-claimgate-roles'] === 'admin');
  });

  it('a session kept alive on one instance stays alive on the other (idle deadline extended elsewhere)', async () => {
    let clock = Date.now();
    const now = () => clock;
    const a2 = await startTestGateway({ session: { secret: 's'.repeat(40), idleTimeoutSeconds: 100 } }, {}, { now });
    const b2 = await startAnotherInstance(a2, { now });
    try {
      const jwt = await a2.token({}, { now: Math.floor(clock / 1000) });
      const cookie = cookieOf((await call(`${a2.url}/claimgate/sso?jwt=${jwt}`)).headers['set-cookie']);
      expect((await call(`${b2.url}/x`, { headers: { cookie } })).status).toBe(200);
      // Requests on A at 30, 60, 90, 120 and 140 s keep the session alive; B last saw it at 0 s.
      for (const step of [30, 30, 30, 30, 20]) {
        clock += step * 1000;
        expect((await call(`${a2.url}/x`, { headers: { cookie } })).status).toBe(200);
      }
      clock += 10_000;
      expect((await call(`${b2.url}/x`, { headers: { cookie } })).status).toBe(200);
    } finally {
      await b2.close();
      await a2.close();
    }
  });
});

