import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/observability/logger.js';
import { TrustMap } from '../../src/core/tokens/index.js';
import { startDemo, type Demo } from '../../demo/demo.js';

/**
 * `npm run demo` end to end, on free ports and an in-memory embedded database: the OpenID provider, the demo
 * app and the gateway really run, and every request below is real HTTP.
 */

let demo: Demo;

beforeAll(async () => {
  demo = await startDemo({ gatewayPort: 0, providerPort: 0, appPort: 0, inMemory: true, logger: createLogger({ silent: true }) });
}, 60_000);

afterAll(async () => {
  await demo?.close();
});

/** The session cookie (`name=value`) of a Set-Cookie answer. */
function sessionCookie(res: Response): string {
  const cookies = res.headers.getSetCookie();
  const c = cookies.find((x) => x.startsWith(`${demo.config.session.cookieName}=`));
  expect(c).toBeDefined();
  return c!.split(';')[0]!;
}

async function signInWith(link: string): Promise<{ res: Response; cookie: string }> {
  const res = await fetch(link, { redirect: 'manual' });
  await res.body?.cancel();
  expect(res.status).toBe(303);
  return { res, cookie: sessionCookie(res) };
}

describe('demo: SSO link through the gateway to the app', () => {
  it('signs ada in with her link and the app shows her verified identity', async () => {
    const link = await demo.ssoLink('ada');
    expect(link.startsWith(`${demo.gatewayUrl}/claimgate/sso?jwt=`)).toBe(true);
    expect(link.endsWith('&return_to=/dashboards/42')).toBe(true);

    const { res, cookie } = await signInWith(link);
    expect(res.headers.get('location')).toBe('/dashboards/42');

    const page = await fetch(`${demo.gatewayUrl}/dashboards/42`, { headers: { cookie }, redirect: 'manual' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('assertion verified');
    expect(html).toMatch(/<th>usercode<\/th><td>ada<\/td>/);
    expect(html).toMatch(/<th>roles<\/th><td>admin<\/td>/);
    expect(html).toMatch(/<th>X-Claimgate-User<\/th><td>ada<\/td>/);
    expect(html).toMatch(/<th>X-Claimgate-Name<\/th><td>Ada Lovelace<\/td><td><code>Ada%20Lovelace<\/code>/);
    expect(html).toMatch(/<th>X-Claimgate-Permissions<\/th><td>finance_read<\/td>/);
    expect(html).toMatch(/<th>attribute region<\/th><td>EU<\/td>/);

    // Ada may open the admin area; /claimgate/me agrees with the page.
    const admin = await fetch(`${demo.gatewayUrl}/admin/settings`, { headers: { cookie }, redirect: 'manual' });
    await admin.body?.cancel();
    expect(admin.status).toBe(200);
    const me = (await (await fetch(`${demo.gatewayUrl}/claimgate/me`, { headers: { cookie } })).json()) as {
      user: { usercode: string };
      roles: string[];
      permissions: string[];
      attributes: Record<string, string[]>;
    };
    expect(me.user.usercode).toBe('ada');
    expect(me.roles).toEqual(['admin']);
    expect(me.permissions).toEqual(['finance_read']);
    expect(me.attributes).toEqual({ region: ['EU'] });
  });

  it('refuses a link used twice (single-use jti)', async () => {
    const link = await demo.ssoLink('ada');
    await signInWith(link);
    const again = await fetch(link, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { code: string }).code).toBe('jti_replayed');
  });

  it('serves the portal on a public route; its button mints a fresh link; grace is no admin', async () => {
    const portal = await fetch(`${demo.gatewayUrl}/portal`, { redirect: 'manual' });
    expect(portal.status).toBe(200);
    expect(await portal.text()).toContain('action="/portal/launch"');

    const launch = await fetch(`${demo.gatewayUrl}/portal/launch`, {
      method: 'POST',
      body: new URLSearchParams({ person: 'grace', return_to: '/dashboards/42' }),
      redirect: 'manual',
    });
    await launch.body?.cancel();
    expect(launch.status).toBe(303);
    const link = launch.headers.get('location')!;
    expect(link.startsWith(`${demo.gatewayUrl}/claimgate/sso?jwt=`)).toBe(true);

    const { cookie } = await signInWith(link);
    const html = await (await fetch(`${demo.gatewayUrl}/dashboards/42`, { headers: { cookie } })).text();
    expect(html).toContain('assertion verified');
    expect(html).toMatch(/<th>usercode<\/th><td>grace<\/td>/);
    expect(html).toMatch(/<th>roles<\/th><td>analyst<\/td>/);

    const admin = await fetch(`${demo.gatewayUrl}/admin/settings`, { headers: { cookie }, redirect: 'manual' });
    await admin.body?.cancel();
    expect(admin.status).toBe(403);

    // The sign-out form of the page ends the session.
    const out = await fetch(`${demo.gatewayUrl}/claimgate/logout`, {
      method: 'POST',
      headers: { cookie, origin: demo.gatewayUrl },
      body: new URLSearchParams({ return_to: '/portal' }),
      redirect: 'manual',
    });
    await out.body?.cancel();
    expect(out.status).toBe(303);
    const after = await fetch(`${demo.gatewayUrl}/dashboards/42`, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
    await after.body?.cancel();
    expect(after.status).toBe(401);
  });

  it('shows no verified identity when the app is opened directly', async () => {
    const html = await (await fetch(`${demo.appUrl}/dashboards/42`, { headers: { 'x-claimgate-user': 'mallory' } })).text();
    expect(html).not.toContain('assertion verified');
    expect(html).toContain('No X-Claimgate-Assertion');
  });
});

describe('demo: the OpenID provider', () => {
  it('answers its discovery document', async () => {
    const res = await fetch(`${demo.providerUrl}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const meta = (await res.json()) as Record<string, unknown>;
    expect(meta.issuer).toBe(demo.providerUrl);
    expect(meta.jwks_uri).toBe(`${demo.providerUrl}/jwks`);
    expect(meta.claims_supported).toEqual(expect.arrayContaining(['preferred_username', 'email', 'name', 'groups', 'regions']));
    const jwks = (await (await fetch(String(meta.jwks_uri))).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('runs the code flow with the pick-a-person page; its ID token passes the gateway issuer config', async () => {
    const issuer = demo.config.issuers[0]!;
    const oidc = issuer.oidc!;
    const redirectUri = `${demo.gatewayUrl}/claimgate/callback`;
    const meta = (await (await fetch(`${demo.providerUrl}/.well-known/openid-configuration`)).json()) as {
      authorization_endpoint: string;
      token_endpoint: string;
    };
    const verifier = randomBytes(32).toString('base64url');
    const nonce = randomBytes(16).toString('base64url');
    const auth = new URL(meta.authorization_endpoint);
    auth.search = new URLSearchParams({
      client_id: oidc.clientId,
      response_type: 'code',
      scope: oidc.scopes.join(' '),
      redirect_uri: redirectUri,
      state: 'st4te',
      nonce,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();

    const jar = new Map<string, string>();
    const request = async (url: string, init: RequestInit = {}) => {
      const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...(init.headers as Record<string, string>) } });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const eq = pair!.indexOf('=');
        jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
      }
      return res;
    };

    let res = await request(auth.href);
    let loginPages = 0;
    let callback: URL | undefined;
    for (let hop = 0; hop < 12 && !callback; hop++) {
      if (res.status === 200) {
        const html = await res.text();
        const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
        expect(action).toBeDefined();
        expect(html).toContain('value="ada"');
        expect(html).toContain('value="grace"');
        loginPages++;
        res = await request(new URL(action!, demo.providerUrl).href, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'person=ada',
        });
        continue;
      }
      await res.body?.cancel();
      expect([302, 303]).toContain(res.status);
      const next = new URL(res.headers.get('location')!, demo.providerUrl);
      if (next.href.startsWith(redirectUri)) callback = next;
      else res = await request(next.href);
    }
    expect(loginPages).toBe(1);
    expect(callback).toBeDefined();
    expect(callback!.searchParams.get('state')).toBe('st4te');
    const code = callback!.searchParams.get('code');
    expect(code).toBeTruthy();

    const token = await fetch(meta.token_endpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(oidc.clientId)}:${encodeURIComponent(oidc.clientSecret!)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: redirectUri, code_verifier: verifier }),
    });
    expect(token.status).toBe(200);
    const { id_token: idToken } = (await token.json()) as { id_token: string };

    // The gateway's own verifier, built from the demo's issuer configuration (discovery included).
    const verified = await new TrustMap(demo.config.issuers, { publicUrl: demo.config.publicUrl }).verify(idToken, { purpose: 'oidc' });
    expect(verified.issuer.id).toBe('demo');
    expect(verified.claims).toMatchObject({
      sub: 'ada',
      nonce,
      preferred_username: 'ada',
      email: 'ada@example.test',
      name: 'Ada Lovelace',
      groups: ['bi-admins', 'finance'],
      regions: ['EU'],
    });
  });
});

/**
 * A browser, by hand: a cookie jar keyed by host name as browsers keep it (cookies ignore the port, so the
 * gateway's and the provider's cookies on 127.0.0.1 share one jar, as in a real browser), honouring Path;
 * redirects are followed one hop at a time.
 */
class Browser {
  private readonly cookies = new Map<string, { value: string; path: string; host: string }>();

  async go(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const u = new URL(url);
    const cookie = [...this.cookies.entries()]
      .filter(([, c]) => c.host === u.hostname && (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/'))
      .map(([k, c]) => `${k.split('|')[0]}=${c.value}`)
      .join('; ');
    const headers: Record<string, string> = { accept: 'text/html' };
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = u.origin;
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const pathAttr = attrs.map((a) => a.trim()).find((a) => /^path=/i.test(a));
      const path = pathAttr ? pathAttr.slice(5) : '/';
      const key = `${name}|${path}`;
      const gone = value === '' || attrs.some((a) => /^\s*max-age=0\b/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (gone) this.cookies.delete(key);
      else this.cookies.set(key, { value, path, host: u.hostname });
    }
    return res;
  }

  has(name: string): boolean {
    return this.names().includes(name);
  }

  names(): string[] {
    return [...this.cookies.keys()].map((k) => k.split('|')[0]!);
  }

  /** Follows redirects from `url`; on the provider's pick-a-person page, picks `person`. Returns the last answer. */
  async signIn(url: string, person: string): Promise<{ res: Response; html: string; url: string; hops: string[] }> {
    const hops: string[] = [];
    let res = await this.go(url);
    let current = url;
    for (let hop = 0; hop < 15; hop++) {
      if (res.status === 302 || res.status === 303) {
        await res.body?.cancel();
        current = new URL(res.headers.get('location')!, current).href;
        hops.push(current);
        res = await this.go(current);
        continue;
      }
      const html = await res.text();
      const picker = new RegExp(`<form method="post" action="([^"]+)"[^]*name="person" value="${person}"`).exec(html);
      if (res.status === 200 && picker && current.startsWith(demo.providerUrl)) {
        const action = new URL(picker[1]!.replace(/&amp;/g, '&'), current).href;
        res = await this.go(action, { form: { person } });
        current = action;
        continue;
      }
      return { res, html, url: current, hops };
    }
    throw new Error('too many redirects');
  }
}

describe('demo: the redirect login (OpenID Connect code flow) through the gateway', () => {
  it('prints the login URL, which leads to the demo provider', async () => {
    expect(demo.loginUrl).toBe(`${demo.gatewayUrl}/claimgate/login?return_to=/dashboards/42`);
    const res = await fetch(demo.loginUrl, { redirect: 'manual' });
    await res.body?.cancel();
    expect(res.status).toBe(302);
    expect(res.headers.get('location')!.startsWith(`${demo.providerUrl}/auth?`)).toBe(true);
  });

  it('a browser opening a protected page goes to the provider, picks grace, and lands on that page signed in', async () => {
    const browser = new Browser();
    const { res, html, url, hops } = await browser.signIn(`${demo.gatewayUrl}/dashboards/42?tab=2`, 'grace');
    expect(hops[0]).toBe(`${demo.gatewayUrl}/claimgate/login?return_to=${encodeURIComponent('/dashboards/42?tab=2')}`);
    expect(hops.some((h) => h.startsWith(`${demo.providerUrl}/auth?`))).toBe(true);
    expect(hops.some((h) => h.startsWith(`${demo.gatewayUrl}/claimgate/callback?`))).toBe(true);
    expect(url).toBe(`${demo.gatewayUrl}/dashboards/42?tab=2`);
    expect(res.status).toBe(200);
    expect(html).toContain('assertion verified');
    expect(html).toMatch(/<th>usercode<\/th><td>grace<\/td>/);
    expect(html).toMatch(/<th>roles<\/th><td>analyst<\/td>/);
    expect(html).toMatch(/<th>attribute region<\/th><td>US<\/td>/);
    expect(browser.has(demo.config.session.cookieName)).toBe(true);
    expect(browser.names().some((n) => n.includes('_tx_'))).toBe(false); // the transaction cookie is gone

    // Grace is no admin; the session is a real gateway session.
    const admin = await browser.go(`${demo.gatewayUrl}/admin/settings`);
    await admin.body?.cancel();
    expect(admin.status).toBe(403);
  });

  it('/claimgate/login signs ada in as admin; she is still signed in at the provider, so a second login asks nothing', async () => {
    const browser = new Browser();
    const first = await browser.signIn(demo.loginUrl, 'ada');
    expect(first.url).toBe(`${demo.gatewayUrl}/dashboards/42`);
    expect(first.html).toMatch(/<th>usercode<\/th><td>ada<\/td>/);
    expect(first.html).toMatch(/<th>roles<\/th><td>admin<\/td>/);
    const me = await browser.go(`${demo.gatewayUrl}/claimgate/me`);
    expect(await me.text()).toContain('<tr><td>role</td><td>admin</td><td>mapping:demo</td></tr>');

    // A second login while the provider session lives asks nothing.
    const again = await browser.signIn(`${demo.gatewayUrl}/claimgate/login?return_to=/admin/settings`, 'nobody');
    expect(again.url).toBe(`${demo.gatewayUrl}/admin/settings`);
    expect(again.res.status).toBe(200);
  });

  it('sign-out ends the provider session too: back at /claimgate/signed-out, the next login asks the provider again', async () => {
    const browser = new Browser();
    await browser.signIn(demo.loginUrl, 'ada');
    const out = await browser.go(`${demo.gatewayUrl}/claimgate/logout`, { form: { return_to: '/portal' } });
    await out.body?.cancel();
    expect(out.status).toBe(303);
    const endSession = out.headers.get('location')!;
    expect(endSession.startsWith(`${demo.providerUrl}/`)).toBe(true);
    expect(new URL(endSession).searchParams.get('post_logout_redirect_uri')).toBe(`${demo.gatewayUrl}/claimgate/signed-out`);
    // The provider asks for confirmation (its own form, with its anti-forgery field).
    const confirm = await browser.go(endSession);
    const page = await confirm.text();
    expect(page).not.toMatch(/post_logout_redirect_uri not registered/);
    const action = /<form[^>]*id="op.logoutForm"[^>]*action="([^"]+)"|<form[^>]*action="([^"]+)"[^>]*id="op.logoutForm"/.exec(page);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page);
    expect(action && xsrf).toBeTruthy();
    let res = await browser.go(new URL((action![1] ?? action![2])!.replace(/&amp;/g, '&'), endSession).href, { form: { xsrf: xsrf![1]!, logout: 'yes' } });
    let at = endSession;
    for (let hop = 0; hop < 5 && (res.status === 302 || res.status === 303); hop++) {
      await res.body?.cancel();
      at = new URL(res.headers.get('location')!, at).href;
      res = await browser.go(at);
    }
    expect(at.startsWith(`${demo.gatewayUrl}/claimgate/signed-out`)).toBe(true);
    await res.body?.cancel();
    // The next login stops at the provider's pick-a-person page instead of signing ada straight back in.
    const next = await browser.signIn(`${demo.gatewayUrl}/claimgate/login?return_to=/admin/settings`, 'nobody');
    expect(next.url.startsWith(demo.providerUrl)).toBe(true);
    expect(next.html).toMatch(/name="person" value="ada"/);
  });

  it('the portal offers the redirect login too', async () => {
    const html = await (await fetch(`${demo.gatewayUrl}/portal`)).text();
    expect(html).toContain('href="/claimgate/login?return_to=%2Fdashboards%2F42"');
  });
});

describe('demo: the console', () => {
  it('lets margaret (platform team) into the console with the write scope, and turns grace away', async () => {
    const { res, cookie } = await signInWith(await demo.ssoLink('margaret', '/claimgate/console/'));
    expect(res.headers.get('location')).toBe('/claimgate/console/');
    const page = await fetch(`${demo.gatewayUrl}/claimgate/console/`, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
    await page.body?.cancel();
    expect(page.status).toBe(200);
    const me = (await (await fetch(`${demo.gatewayUrl}/claimgate/me`, { headers: { cookie } })).json()) as { adminScopes: string[] };
    expect(me.adminScopes).toEqual(['admin:read', 'admin:write']);

    const grace = await signInWith(await demo.ssoLink('grace', '/claimgate/console/'));
    const refused = await fetch(`${demo.gatewayUrl}/claimgate/console/`, { headers: { cookie: grace.cookie, accept: 'text/html' }, redirect: 'manual' });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('not allowed');
  });
});
