import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeKeyPair, signToken } from '../helpers/tokens.js';
import { browse, CookieJar } from '../helpers/oidc-provider.js';
import { startLogin, useOidcGateway } from '../helpers/oidc-setup.js';

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

/** What every page the gateway renders for a person must have: one h1, labelled forms, no script. */
function expectAccessible(html: string) {
  expect(html.match(/<h1[\s>]/g)).toHaveLength(1);
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/\son[a-z]+=/i);
  for (const form of html.match(/<form[^>]*>/g) ?? []) expect(form).toMatch(/aria-label="[^"]+"/);
}

describe('gateway pages are not dead ends', () => {
  let gw: TestGateway;
  let viewer: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    const jwt = await gw.token({ sub: 'u-vera', preferred_username: 'vera', name: 'Vera Viewer', groups: [] });
    viewer = cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${jwt}`)).headers['set-cookie']);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('403 route_forbidden shows who is signed in, a sign-out form and the way back', async () => {
    const r = await call(`${gw.url}/admin/reports`, { headers: { ...HTML, cookie: viewer } });
    expect(r.status).toBe(403);
    expect(r.text).toContain('route_forbidden');
    expect(r.text).toContain('Signed in as <strong>Vera Viewer (vera)</strong>');
    expect(r.text).toMatch(/<form method="post" action="\/claimgate\/logout" aria-label="Sign out"><button type="submit">Sign out<\/button><\/form>/);
    expect(r.text).toContain('<a href="/">Back to the application</a>');
    expectAccessible(r.text);
  });

  it('token errors at /sso: with a session the user is named; without one there is a sign-in link', async () => {
    const missing = await call(`${gw.url}/claimgate/sso`, { headers: { ...HTML, cookie: viewer } });
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('token_missing');
    expect(missing.text).toContain('Signed in as');
    expectAccessible(missing.text);
    const bad = await call(`${gw.url}/claimgate/sso?jwt=a.b.c`, { headers: HTML });
    expect(bad.text).not.toContain('Signed in as');
    expect(bad.text).toContain('href="/claimgate/login?return_to=%2F"');
    expect(bad.text).toContain('<a href="/">Back to the application</a>');
    expectAccessible(bad.text);
  });

  it('jti_replayed and signature_invalid at /sso: the signed-in user, sign-out and the way back', async () => {
    const used = await gw.token({ sub: 'u-vera', preferred_username: 'vera', name: 'Vera Viewer', groups: [] });
    await call(`${gw.url}/claimgate/sso?jwt=${used}`);
    const forged = await signToken(
      { iss: 'https://idp.example.test', aud: 'claimgate', sub: 'u-vera', jti: 'forged-1' },
      { key: await makeKeyPair('RS256', gw.key.kid), now: Math.floor(Date.now() / 1000) },
    );
    for (const [jwt, code] of [[used, 'jti_replayed'], [forged, 'signature_invalid']] as const) {
      const r = await call(`${gw.url}/claimgate/sso?jwt=${jwt}`, { headers: { ...HTML, cookie: viewer } });
      expect([r.status, r.headers['content-type']]).toEqual([401, expect.stringMatching(/text\/html/)]);
      expect(r.text).toContain(code);
      expect(r.text).toContain('Signed in as <strong>Vera Viewer (vera)</strong>');
      expect(r.text).toContain('action="/claimgate/logout"');
      expect(r.text).toContain('<a href="/">Back to the application</a>');
      expectAccessible(r.text);
    }
  });

  it('/claimgate/me answers a browser with a page: roles with their source, session end, sign out', async () => {
    const page = await call(`${gw.url}/claimgate/me`, { headers: { ...HTML, cookie: viewer } });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('<h1>Signed in as Vera Viewer (vera)</h1>');
    expect(page.text).toContain('<tr><td>role</td><td>viewer</td><td>mapping:corp</td></tr>');
    expect(page.text).toMatch(/Session ends<\/dt><dd><time datetime="\d{4}-/);
    expect(page.text).toContain('action="/claimgate/logout"');
    expectAccessible(page.text);
  });

  it('/claimgate/me stays JSON for API callers and for fetch() asking for JSON', async () => {
    for (const accept of ['application/json', 'text/html, application/json', '*/*']) {
      const r = await call(`${gw.url}/claimgate/me`, { headers: { accept, cookie: viewer } });
      expect(r.headers['content-type']).toMatch(/application\/json/);
      expect(r.json().user.usercode).toBe('vera');
    }
  });
});

describe('the redirect login\'s error page is not a dead end either', () => {
  let gw: TestGateway;
  useOidcGateway((started) => ({ gw } = started));

  it('oidc_access_denied (the person declined at the provider): a new sign-in, the way back; the signed-in user when there is one', async () => {
    const jar = new CookieJar();
    await browse(jar, (await startLogin(gw, jar, 'ada')).callbackUrl);
    const { callbackUrl } = await startLogin(gw, jar, 'ada');
    const declined = new URL(callbackUrl);
    declined.searchParams.delete('code');
    declined.searchParams.set('error', 'access_denied');
    const r = await browse(jar, declined.href);
    expect(r.status).toBe(403);
    expect(r.text).toContain('oidc_access_denied');
    expect(r.text).toContain('Signed in as <strong>');
    expect(r.text).toContain('action="/claimgate/logout"');
    expect(r.text).toContain('<a href="/">Back to the application</a>');
    expectAccessible(r.text);
    const anonymous = new CookieJar();
    const again = new URL((await startLogin(gw, anonymous, 'ada')).callbackUrl);
    again.searchParams.delete('code');
    again.searchParams.set('error', 'access_denied');
    const page = await browse(anonymous, again.href);
    expect(page.status).toBe(403);
    expect(page.text).not.toContain('Signed in as');
    expect(page.text).toMatch(/href="\/claimgate\/login\?return_to=/);
    expectAccessible(page.text);
  });
});
