import { describe, it, expect, afterEach } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { browse, CookieJar, signInAtProvider, startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { ACCOUNTS, oidcIssuer, startLogin, webClient } from '../helpers/oidc-setup.js';

/**
 * Each test starts its own database, gateway and (mostly) provider. Nothing in them waits on a lock, a timer or a
 * remote service: their time is CPU work on this thread, most of it loading the migrated PGlite template (2-5 s per
 * database on a 2-core machine busy with other suites), then an RSA key and the first sign-in. This file took 27 s
 * alone and 79 s after five other files in one worker; a full run stretches one test past Jest's default 30 s, where
 * it was cut off as if it hung. They get 90 s, which a real hang (undici waits up to 300 s) still exceeds.
 */
const BUDGET = 90_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setUp(opts: { client?: Record<string, unknown>; oidc?: Record<string, unknown>; gateway?: Record<string, unknown>; claimsInIdToken?: boolean }) {
  let gw!: TestGateway;
  const idp: TestProvider = await startTestProvider(async (issuer) => {
    gw = await startTestGateway({ issuers: [oidcIssuer(issuer, opts.oidc)], ...(opts.gateway ?? {}) });
    return { clients: [webClient(gw.url, opts.client)], accounts: ACCOUNTS, claimsInIdToken: opts.claimsInIdToken };
  });
  cleanups.push(() => idp.close(), () => gw.close());
  return { gw, idp };
}

const me = async (gw: TestGateway, jar: CookieJar) => (await call(`${gw.url}/claimgate/me`, { headers: { cookie: jar.header(gw.url)! } })).json();

describe('OIDC client options', () => {
  it('private_key_jwt client authentication', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const priv = { ...(await exportJWK(privateKey)), kid: 'gw-1', alg: 'ES256' };
    const pub = { ...(await exportJWK(publicKey)), kid: 'gw-1', alg: 'ES256', use: 'sig' };
    // Served as jwks_uri: oidc-provider clones inline client metadata across realms under Jest, and then
    // refuses inline `jwks` keys as "not plain objects".
    const jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [pub] })));
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => jwksServer.close(() => r())));
    const jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
    const { gw } = await setUp({
      oidc: { authMethod: 'private_key_jwt', privateKey: priv, clientSecret: undefined },
      client: { client_secret: undefined, token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', jwks_uri: jwksUri },
    });
    const jar = new CookieJar();
    const { callbackUrl } = await startLogin(gw, jar, 'bob');
    expect((await browse(jar, callbackUrl)).status).toBe(303);
    expect((await me(gw, jar)).user.usercode).toBe('bob');
  }, BUDGET);

  it('userinfo: merge adds the claims the ID token leaves out', async () => {
    const merged = await setUp({ claimsInIdToken: false, oidc: { userinfo: 'merge' } });
    const jar = new CookieJar();
    await browse(jar, (await startLogin(merged.gw, jar, 'ada')).callbackUrl);
    const a = await me(merged.gw, jar);
    expect(a.roles).toEqual(['admin']);
    expect(a.user.email).toBe('ada@example.test');
  }, BUDGET);

  it('userinfo: ignore maps the ID token alone', async () => {
    const plain = await setUp({ claimsInIdToken: false, oidc: { userinfo: 'ignore' } });
    const jar2 = new CookieJar();
    await browse(jar2, (await startLogin(plain.gw, jar2, 'ada')).callbackUrl);
    const b = await me(plain.gw, jar2);
    expect(b.roles).toEqual(['viewer']);
    expect(b.user.email).toBeNull();
  }, BUDGET);

  it('responseMode form_post: SameSite=None; Secure transaction cookie, the answer POSTed to /callback', async () => {
    const { gw } = await setUp({ oidc: { responseMode: 'form_post' }, gateway: { publicUrl: 'https://gateway.test' } });
    const jar = new CookieJar();
    const start = await browse(jar, `${gw.url}/claimgate/login?issuer=idp&return_to=/after`);
    expect(String(start.headers['set-cookie'])).toMatch(/SameSite=None/i);
    expect(String(start.headers['set-cookie'])).toMatch(/Secure/i);
    const authUrl = new URL(String(start.headers.location));
    expect(authUrl.searchParams.get('response_mode')).toBe('form_post');
    expect(authUrl.searchParams.get('redirect_uri')).toBe('https://gateway.test/claimgate/callback');
    const { callbackUrl, form } = await signInAtProvider(jar, authUrl.href, 'ada');
    expect(callbackUrl).toBe('https://gateway.test/claimgate/callback');
    expect(Object.keys(form!).sort()).toEqual(['code', 'iss', 'state']);
    // The same answer as a GET is refused: it must come the way it was asked for.
    const asGet = await call(`${gw.url}/claimgate/callback?${new URLSearchParams(form!)}`, { headers: { cookie: jar.header(gw.url)!, accept: 'application/json' } });
    expect(asGet.status).toBe(400);
    expect(asGet.json().code).toBe('oidc_response_mode_mismatch');
    const { callbackUrl: again, form: form2 } = await signInAtProvider(jar, (await browse(jar, `${gw.url}/claimgate/login?issuer=idp&return_to=/after`)).headers.location as string, 'ada');
    expect(again).toBe('https://gateway.test/claimgate/callback');
    const done = await browse(jar, `${gw.url}/claimgate/callback`, { form: form2! });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/after');
    expect((await me(gw, jar)).user.usercode).toBe('ada');
  }, BUDGET);

  it('an auth server that POSTs a signed JWT to /claimgate/sso signs the user in once (jti replay refused)', async () => {
    const gw = await startTestGateway();
    cleanups.push(() => gw.close());
    const jwt = await gw.token();
    const post = () =>
      call(`${gw.url}/claimgate/sso`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ jwt, return_to: '/reports' }).toString(),
      });
    const first = await post();
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/reports');
    const second = await post();
    expect(second.status).toBe(401);
    expect(second.json().code).toBe('jti_replayed');
  }, BUDGET);

  it('several OIDC issuers: the login page is a chooser', async () => {
    const { gw } = await setUp({
      gateway: {},
    });
    const cfgIssuers = gw.config.issuers;
    const two = await startTestGateway({
      issuers: [
        oidcIssuer(cfgIssuers[0]!.issuer),
        { ...oidcIssuer('https://other-idp.example.test'), id: 'partner', discovery: undefined, keys: [gw.key.publicJwk] },
      ],
    });
    cleanups.push(() => two.close());
    const page = await call(`${two.url}/claimgate/login?return_to=/r`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/\/claimgate\/login\?issuer=idp&(amp;|#38;)return_to=%2Fr/);
    expect(page.text).toMatch(/\/claimgate\/login\?issuer=partner&(amp;|#38;)return_to=%2Fr/);
  }, BUDGET);
});
