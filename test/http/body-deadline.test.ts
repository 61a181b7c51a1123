import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { slowRequest } from '../helpers/raw-http.js';

describe('request timeouts and a body deadline on gateway endpoints', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      limits: { gatewayBodyTimeoutSeconds: 1, headersTimeoutSeconds: 20 },
      rateLimits: { token: { perMinute: 2 } },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a token request whose body drips in gets 408 and a closed connection once the deadline passes', async () => {
    const r = await slowRequest(gw.url, '/claimgate/oauth/token', {
      length: 100_000,
      drip: 1000,
      everyMs: 200,
      headers: ['Content-Type: application/x-www-form-urlencoded'],
    });
    expect(r.status).toBe(408);
    expect(r.text).toContain('request_timeout');
    expect(r.text.toLowerCase()).toContain('connection: close');
    expect(r.closedAfterMs).toBeLessThan(4000);
    expect(r.sent).toBeLessThan(20);
  });

  it('the token limit is counted before the body is read: over it, a request is refused without sending one', async () => {
    const headOnly = () =>
      slowRequest(gw.url, '/claimgate/oauth/token', { length: 100, drip: 0, everyMs: 1000, headers: ['Content-Type: application/x-www-form-urlencoded'] });
    // The previous test used one of the two requests a minute; this one uses the second.
    expect((await headOnly()).status).toBe(408);
    const refused = await headOnly();
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('slow_down');
    expect(refused.text.toLowerCase()).toContain('connection: close');
    expect(refused.closedAfterMs).toBeLessThan(900);
  });

  it('a proxied upload slower than the deadline still reaches the app whole', async () => {
    const login = await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`);
    const before = gw.app.seen.length;
    const r = await slowRequest(gw.url, '/upload', { length: 12, drip: 12, everyMs: 200, headers: [`Cookie: ${cookieOf(login.headers['set-cookie'])}`, 'Connection: close'] });
    expect(r.status).toBe(200);
    expect(gw.app.seen.length).toBe(before + 1);
    expect(gw.app.seen.at(-1)).toMatchObject({ method: 'POST', url: '/upload', bytes: 12 });
  });

  it('the server takes its header and request timeouts from limits (no whole-request limit by default)', () => {
    expect(gw.running.server.headersTimeout).toBe(20_000);
    expect(gw.running.server.requestTimeout).toBe(0);
  });
});
