import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { RateLimiter, addressKey } from '../../src/web/rate-limit.js';
import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('RateLimiter', () => {
  it('allows perMinute events per key per window, then says how long to wait', () => {
    let now = 1_000_000;
    const l = new RateLimiter(2, () => now);
    expect([l.hit('a'), l.hit('a'), l.hit('b')]).toEqual([0, 0, 0]);
    expect(l.hit('a')).toBe(60);
    now += 45_000;
    expect(l.hit('a')).toBe(15);
    now += 15_000;
    expect(l.hit('a')).toBe(0);
  });

  it('blocked() does not count', () => {
    const l = new RateLimiter(1, () => 0);
    expect(l.blocked('x')).toBe(0);
    l.hit('x');
    expect(l.blocked('x')).toBe(60);
  });
});

describe('RateLimiter under a flood of keys', () => {
  it('keeps blocking a client while many other addresses fill the table', () => {
    const now = 1_000_000;
    const l = new RateLimiter(2, () => now, 1000);
    for (let i = 0; i < 3; i++) l.hit('attacker');
    expect(l.hit('attacker')).toBeGreaterThan(0);
    // Fresh keys, none expired: enough to fill the table several times over.
    for (let i = 0; i < 5000; i++) l.hit(`flood-${i}`);
    expect(l.size).toBeLessThanOrEqual(1000);
    expect(l.blocked('attacker')).toBeGreaterThan(0);
    expect(l.hit('attacker')).toBeGreaterThan(0);
  });

  it('when blocked clients alone fill the table, those whose windows end soonest make room', () => {
    let now = 1_000_000;
    const l = new RateLimiter(1, () => now, 100);
    for (let i = 0; i < 100; i++) {
      l.hit(`b${i}`);
      l.hit(`b${i}`);
      now += 10;
    }
    l.hit('newcomer');
    expect(l.size).toBeLessThanOrEqual(100);
    expect(l.blocked('b99')).toBeGreaterThan(0);
    expect(l.blocked('b0')).toBe(0);
  });

  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('counts %s as %s (IPv6 per /64)', (ip, key) => {
    expect(addressKey(ip)).toBe(key);
  });
});

describe('rate limits on /sso and /oauth/token', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ rateLimits: { sso: { perMinute: 3 }, token: { perMinute: 2 }, adminAuth: { perMinute: 2 } } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a flood of sign-in links gets 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([303, 303, 303, 429, 429]);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    expect(last!.json().code).toBe('rate_limited');
    // The rest of the gateway keeps serving.
    expect((await call(`${gw.url}/claimgate/health/live`)).status).toBe(200);
  });

  it('the token endpoint answers 429 in its own error format', async () => {
    const body = 'grant_type=client_credentials&client_id=00000000-0000-0000-0000-000000000000&client_secret=x';
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const r = [];
    for (let i = 0; i < 3; i++) r.push(await call(`${gw.url}/claimgate/oauth/token`, { method: 'POST', headers, body }));
    expect(r.map((x) => x.status)).toEqual([401, 401, 429]);
    expect(r[2]!.json().error).toBe('slow_down');
    expect(Number(r[2]!.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('guessing API credentials gets 429 after adminAuth.perMinute failures, even for a then valid token', async () => {
    const { token } = await gw.running.gateway.parts.credentials.store.create({ name: 'ops', scopes: ['admin:read'] });
    expect((await call(`${gw.url}/claimgate/admin/v1/users`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await call(`${gw.url}/claimgate/admin/v1/users`, { headers: { authorization: `Bearer cg_guess${i}aaaaaaaaaaaaaaaa` } })).status);
    }
    expect(statuses).toEqual([401, 401, 429]);
    const blocked = await call(`${gw.url}/claimgate/admin/v1/users`, { headers: { authorization: `Bearer ${token}` } });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('a body over limits.bodyBytes is refused with 413', async () => {
    // Not the token endpoint: its limit is spent above, and a client over it is refused before its body is read.
    const r = await call(`${gw.url}/claimgate/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ return_to: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(r.status).toBe(413);
    expect(r.json().code).toBe('body_too_large');
  });
});
