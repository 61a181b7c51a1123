import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** Pages and errors the gateway writes itself cannot be framed or sniffed; the app's own answers are left alone. */
describe('framing and sniffing headers', () => {
  let gw: TestGateway;
  let cookie: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    cookie = cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`)).headers['set-cookie']);
  });
  afterAll(async () => {
    await gw?.close();
  });

  const html = { accept: 'text/html' };
  it.each<[string, string, Record<string, string>, number, RegExp]>([
    ['the sign-in chooser (HTML)', '/claimgate/login', html, 200, /text\/html/],
    ['the sign-out confirmation page', '/claimgate/logout', html, 200, /text\/html/],
    ['a refused sign-in link (HTML error page)', '/claimgate/sso?jwt=not-a-token', html, 401, /text\/html/],
    ['a refused sign-in link (problem+json)', '/claimgate/sso?jwt=not-a-token', {}, 401, /application\/problem\+json/],
    ['/me without a session', '/claimgate/me', {}, 401, /application\/problem\+json/],
    ['a 404 under basePath', '/claimgate/nothing-here', html, 404, /text\/html/],
    ['an app path without a session (the gateway answers)', '/dash', {}, 401, /application\/problem\+json/],
    ['a refused path on an app path', '/admin./x', {}, 400, /application\/problem\+json/],
    ['the health check', '/claimgate/health/live', {}, 200, /json/],
  ])('%s', async (_name, path, headers, status, type) => {
    const r = await call(`${gw.url}${path}`, { headers });
    expect(r.status).toBe(status);
    expect(String(r.headers['content-type'])).toMatch(type);
    expect(r.headers['content-security-policy']).toBe("frame-ancestors 'none'");
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it('a signed-in user\'s /me carries them too', async () => {
    const r = await call(`${gw.url}/claimgate/me`, { headers: { cookie } });
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toBe("frame-ancestors 'none'");
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it('the app\'s own answers pass through without them', async () => {
    const before = gw.app.seen.length;
    const r = await call(`${gw.url}/dash`, { headers: { cookie } });
    expect(r.status).toBe(200);
    expect(gw.app.seen.length).toBe(before + 1);
    expect(r.headers['x-app']).toBe('echo');
    expect(r.headers['content-security-policy']).toBeUndefined();
    expect(r.headers['x-frame-options']).toBeUndefined();
    expect(r.headers['x-content-type-options']).toBeUndefined();
  });
});
