import { it, expect, beforeAll, afterAll } from '@jest/globals';
import { openDatabase, type Database } from '../../src/store/db/index.js';
import { parseConfigObject } from '../../src/core/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import { describeIfPostgres, TEST_DB_OPTIONS } from '../helpers/db.js';
import { Flaky } from '../helpers/flaky.js';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { within } from '../helpers/wait.js';

/**
 * Faults seen from outside: the database goes away under load and comes back. A second gateway reaches the
 * database through a forwarder that can be cut, so the rest of the suite keeps its database.
 */
describeIfPostgres('the gateway through a database outage (PostgreSQL)', () => {
  let base: TestGateway;
  let flaky: Flaky;
  let db: Database;
  let gw: RunningServer;
  beforeAll(async () => {
    base = await startTestGateway();
    const url = new URL(process.env.DATABASE_URL!);
    flaky = new Flaky({ host: url.hostname, port: Number(url.port || 5432) });
    await flaky.start();
    url.host = `127.0.0.1:${flaky.port}`;
    db = await openDatabase({ ...TEST_DB_OPTIONS, connectionTimeoutMs: 1000, url: url.toString(), schema: base.db.schema });
    const config = parseConfigObject({ ...structuredClone(base.config), listen: { host: '127.0.0.1', port: 0 } }, {});
    gw = await startServer(config, { logger: createLogger({ silent: true }), db });
  });
  afterAll(async () => {
    await gw?.close();
    await db?.close();
    await flaky?.close();
    await base?.close();
  });

  it('fails fast with 503 while the database is away, writes no half user, and recovers without restart', async () => {
    const cookie = cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${await base.token()}`)).headers['set-cookie']);
    expect((await call(`${gw.url}/x`, { headers: { cookie } })).status).toBe(200);

    flaky.cut();
    const started = Date.now();
    const during = await Promise.all([
      call(`${gw.url}/claimgate/sso?jwt=${await base.token({ preferred_username: 'outage', sub: 'u-outage' })}`),
      call(`${gw.url}/x`, { headers: { cookie } }),
      call(`${gw.url}/claimgate/health/ready`),
    ]);
    expect(during.map((r) => r.status)).toEqual([503, 503, 503]);
    expect(during[0]!.json().code).toBe('database_unavailable');
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await call(`${gw.url}/claimgate/health/live`)).status).toBe(200);

    flaky.restore();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await call(`${gw.url}/x`, { headers: { cookie } })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect((await call(`${gw.url}/claimgate/health/ready`)).status).toBe(200);
    // The login refused during the outage left nothing behind; it works now.
    expect(await base.db.knex('users').whereRaw('lower(usercode) = ?', ['outage'])).toHaveLength(0);
    const again = await call(`${gw.url}/claimgate/sso?jwt=${await base.token({ preferred_username: 'outage', sub: 'u-outage' })}`);
    expect(again.status).toBe(303);
  });
});

describeIfPostgres('SIGTERM-style shutdown under load', () => {
  let base: TestGateway;
  beforeAll(async () => {
    base = await startTestGateway();
  });
  afterAll(async () => {
    await base?.close().catch(() => undefined);
  });

  it('in-flight requests finish, new connections are refused', async () => {
    const cookie = cookieOf((await call(`${base.url}/claimgate/sso?jwt=${await base.token()}`)).headers['set-cookie']);
    base.app.delays.set('/slow', 500);
    const inflight = call(`${base.url}/slow`, { headers: { cookie } });
    // In flight once the app has it (it answers 500 ms later).
    await within(5000, () => base.app.seen.some((s) => s.url === '/slow'));
    const closing = base.running.server.close();
    void closing;
    await expect(call(`${base.url}/x`, { headers: { cookie, connection: 'close' } })).rejects.toThrow();
    expect((await inflight).status).toBe(200);
  });
});
