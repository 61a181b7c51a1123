import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { signToken } from '../helpers/tokens.js';
import { freePort } from '../helpers/ports.js';

const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

/**
 * No label takes a value an outsider chooses: a flood of distinct paths, usercodes and (unverified) issuers adds
 * no series. The series are counted after one warm-up round of each kind of request, then again after the flood.
 */
describe(`metrics cardinality under a flood of distinct values (${db})`, () => {
  let gw: TestGateway;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    gw = await startTestGateway({ metrics: { listen: `127.0.0.1:${port}` } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const scrape = async () => (await call(`http://127.0.0.1:${port}/metrics`)).text;
  const series = (body: string) =>
    body
      .split('\n')
      .filter((l) => l.startsWith('claimgate_') && !l.startsWith('claimgate_process') && !l.startsWith('claimgate_nodejs'))
      .map((l) => l.slice(0, l.lastIndexOf(' ')));

  async function round(n: number, cookie: string): Promise<void> {
    for (let i = 0; i < n; i++) {
      const tag = randomUUID();
      // A new usercode signs in.
      expect((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ preferred_username: `u-${tag}`, sub: `s-${tag}` })}`)).status).toBe(303);
      // A token from an issuer nobody configured.
      const stranger = await signToken({ iss: `https://evil-${tag}.example`, aud: 'claimgate', sub: tag, jti: tag }, { key: gw.key, now: Math.floor(Date.now() / 1000) });
      expect((await call(`${gw.url}/claimgate/sso?jwt=${stranger}`, { headers: { accept: 'application/json' } })).status).toBe(401);
      // A proxied request to a path never seen before, signed in and not.
      expect((await call(`${gw.url}/reports/${tag}?q=${tag}`, { headers: { cookie } })).status).toBe(200);
      expect((await call(`${gw.url}/reports/${tag}`, { headers: { accept: 'application/json' } })).status).toBe(401);
    }
  }

  it('a flood of distinct paths, usercodes and issuers adds no series', async () => {
    const cookie = cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`)).headers['set-cookie']);
    await round(2, cookie);
    const before = series(await scrape());
    expect(before.some((s) => s.startsWith('claimgate_logins_total{issuer="unknown",outcome="rejected"'))).toBe(true);
    expect(before.some((s) => s.startsWith('claimgate_login_duration_seconds_bucket'))).toBe(true);
    expect(before.some((s) => s.startsWith('claimgate_mapping_duration_seconds_count'))).toBe(true);
    await round(30, cookie);
    const after = series(await scrape());
    expect(after.length).toBe(before.length);
    expect(new Set(after)).toEqual(new Set(before));
    expect(after.join('\n')).not.toMatch(/evil-|u-[0-9a-f]{8}-|\/reports\//);
  });
});
