import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { postExpectingContinue } from '../helpers/raw-http.js';

/** `forwarding.stripRequestHeaders` replaces the default list of override headers; `Expect` goes whatever it says. */
describe('forwarding.stripRequestHeaders', () => {
  let gw: TestGateway;
  let cookie: string;
  beforeAll(async () => {
    gw = await startTestGateway({ forwarding: { stripRequestHeaders: ['X-Tenant-Override'] } });
    cookie = cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`)).headers['set-cookie']);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a configured list replaces the default: its names are stripped, the default override headers pass', async () => {
    const r = await call(`${gw.url}/exports/1`, { headers: { cookie, 'x-tenant-override': 'other', 'x-http-method-override': 'DELETE' } });
    expect(r.status).toBe(200);
    const seen = gw.app.seen.at(-1)!;
    expect(seen.headers['x-tenant-override']).toBeUndefined();
    expect(seen.headers['x-http-method-override']).toBe('DELETE');
  });

  it('Expect is dropped even when the list does not name it', async () => {
    const r = await postExpectingContinue(gw.url, '/upload', Buffer.alloc(4096, 1), { cookie, 'content-type': 'application/octet-stream' });
    expect(r).toMatchObject({ status: 200, continued: true });
    expect(gw.app.seen.at(-1)).toMatchObject({ method: 'POST', url: '/upload', bytes: 4096 });
    expect(gw.app.seen.at(-1)!.headers.expect).toBeUndefined();
  });
});
