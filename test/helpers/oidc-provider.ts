/**
 * A real OpenID provider (the `oidc-provider` package) on 127.0.0.1, port 0, for the code-flow tests: discovery,
 * PKCE, RFC 9207 `iss`, client_secret_basic and private_key_jwt, userinfo, RP-initiated and back-channel
 * logout. Its own dev interactions (login page, consent page) are what a browser sees; `signIn()` drives them
 * over plain HTTP with a small cookie jar. Hooks can tamper with token responses (to play a broken or hostile
 * provider) or slow any path down.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, decodeJwt, type JWK, type JWTPayload, type CryptoKey } from 'jose';
import Provider from 'oidc-provider';
import { request } from 'undici';

export interface Account {
  [claim: string]: unknown;
}

export interface TestProviderOptions {
  clients: Record<string, unknown>[];
  accounts: Record<string, Account>;
  /** false: profile claims go only to userinfo (oidc-provider's default, spec-conform). Default true (all in the ID token). */
  claimsInIdToken?: boolean;
}

export interface TestProvider {
  issuer: string;
  provider: InstanceType<typeof Provider>;
  /** The provider's signing key, to forge tokens "from" it in attack tests. */
  signingKey: CryptoKey;
  signingKid: string;
  /** Rewrites the JSON of the next /token responses (undefined: pass through). */
  tamperToken?: (body: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Delay (ms) before answering paths starting with a key. */
  delays: Map<string, number>;
  /** Every back-channel logout delivery the provider attempted (its result). */
  requests: string[];
  /** Signs a JWT with the provider's key (ID or logout token forgeries). */
  sign(claims: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/**
 * Listens first, so the issuer URL is known; `options` may be a function of it (to start the gateway that the
 * clients' back-channel logout URIs point to before the provider is built).
 */
export async function startTestProvider(
  options: TestProviderOptions | ((issuer: string) => Promise<TestProviderOptions>),
): Promise<TestProvider> {
  const app: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const delays = new Map<string, number>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${(req.url ?? '').split('?')[0]}`);
    const delay = [...delays.entries()].find(([p]) => (req.url ?? '').startsWith(p))?.[1];
    const go = () => app.handler!(req, res);
    if (delay) setTimeout(go, delay);
    else go();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const opts = typeof options === 'function' ? await options(issuer) : options;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
  const provider = new Provider(issuer, {
    clients: opts.clients as never,
    jwks: { keys: [jwk as never] },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    findAccount: async (_ctx: unknown, id: string) => {
      const account = opts.accounts[id];
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...account }) };
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'given_name', 'family_name'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
    conformIdTokenClaims: opts.claimsInIdToken === false,
    features: {
      devInteractions: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      revocation: { enabled: true },
    },
    pkce: { required: () => true },
    // The provider refuses outgoing requests to special-use addresses (SSRF protection); the gateway under test
    // listens on 127.0.0.1, so its back-channel logout calls go out without that dispatcher.
    fetch: (url: string, { dispatcher: _dispatcher, ...init }: RequestInit & { dispatcher?: unknown }) => globalThis.fetch(url, init),
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'ES256'] },
  } as never);
  // Local http on 127.0.0.1 only.
  (provider as unknown as { proxy: boolean }).proxy = false;

  const tp: TestProvider = {
    issuer,
    provider,
    signingKey: privateKey,
    signingKid: 'idp-1',
    delays,
    requests,
    sign: (claims, header = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'idp-1', ...header }).sign(privateKey),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  type KoaCtx = { path: string; status: number; body: unknown };
  (provider as unknown as { use(mw: (ctx: KoaCtx, next: () => Promise<void>) => Promise<void>): void }).use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.status === 200 && tp.tamperToken) {
      ctx.body = await tp.tamperToken(ctx.body as Record<string, unknown>);
    }
  });
  provider.on('backchannel.error', (_ctx: unknown, err: Error) => requests.push(`backchannel error: ${err.message}`));
  provider.on('backchannel.success', () => requests.push('backchannel ok'));
  provider.on('server_error', (_ctx: unknown, err: Error) => {
    console.error('oidc-provider server_error', err);
  });
  app.handler = provider.callback();
  return tp;
}

/** Re-signs an ID token with changed claims (a hostile or broken provider). */
export async function resignIdToken(tp: TestProvider, idToken: string, change: (c: JWTPayload) => JWTPayload): Promise<string> {
  return tp.sign(change({ ...decodeJwt(idToken) }));
}

/** A minimal cookie jar for one "browser" across several origins (cookies are kept per host). */
export class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>();

  header(url: string): string | undefined {
    const m = this.byHost.get(new URL(url).host);
    if (!m || m.size === 0) return undefined;
    return [...m.entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  store(url: string, setCookie: string | string[] | undefined): void {
    if (!setCookie) return;
    const host = new URL(url).host;
    let m = this.byHost.get(host);
    if (!m) this.byHost.set(host, (m = new Map()));
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0\b/i.test(a));
      if (expired || value === '') m.delete(name);
      else m.set(name, value);
    }
  }

  get(url: string, name: string): string | undefined {
    return this.byHost.get(new URL(url).host)?.get(name);
  }

  names(url: string): string[] {
    return [...(this.byHost.get(new URL(url).host)?.keys() ?? [])];
  }
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  url: string;
}

/** One request with the jar's cookies; stores what comes back; never follows redirects. */
export async function browse(
  jar: CookieJar,
  url: string,
  opts: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { accept: 'text/html', ...(opts.headers ?? {}) };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  let body: string | undefined;
  if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  const res = await request(url, { method: (opts.method ?? (opts.form ? 'POST' : 'GET')) as 'GET', headers, body });
  const text = await res.body.text();
  jar.store(url, res.headers['set-cookie']);
  return { status: res.statusCode, headers: res.headers, text, url };
}

/** Absolute form of a Location header. */
export function resolve(base: string, location: string | string[] | undefined): string {
  if (typeof location !== 'string') throw new Error(`no Location (got ${String(location)})`);
  return new URL(location, base).href;
}

/**
 * Drives the provider from an authorization URL through its own login and consent pages, the way a browser
 * would, and returns the authorization response: the redirect to the callback (query mode) or the auto-submit
 * form's fields (form_post).
 */
export async function signInAtProvider(
  jar: CookieJar,
  authorizationUrl: string,
  login: string,
): Promise<{ callbackUrl: string; form?: Record<string, string> }> {
  let url = authorizationUrl;
  for (let step = 0; step < 12; step++) {
    const res = await browse(jar, url);
    if (res.status === 303 || res.status === 302) {
      const next = resolve(url, res.headers.location);
      if (!next.startsWith(new URL(authorizationUrl).origin)) return { callbackUrl: next };
      url = next;
      continue;
    }
    if (res.status !== 200) throw new Error(`provider answered ${res.status} at ${url}: ${res.text.replace(/<style[\s\S]*?<\/style>/, "").slice(0, 1500)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(res.text)?.[1]?.replace(/&amp;/g, '&');
    if (!action) throw new Error(`no form at ${url}`);
    const target = new URL(action, url).href;
    const fields = Object.fromEntries([...res.text.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]));
    if (!target.startsWith(new URL(authorizationUrl).origin)) return { callbackUrl: target, form: fields };
    const prompt = fields.prompt;
    const form = prompt === 'login' ? { prompt: 'login', login, password: 'any' } : { ...fields };
    const answer = await browse(jar, target, { form });
    if (answer.status !== 303 && answer.status !== 302) throw new Error(`provider answered ${answer.status} to ${prompt}: ${answer.text.slice(0, 300)}`);
    url = resolve(target, answer.headers.location);
    if (!url.startsWith(new URL(authorizationUrl).origin)) return { callbackUrl: url };
  }
  throw new Error('too many steps at the provider');
}
