/** The gateway-and-provider set-up shared by the OIDC tests. */
import { afterAll, beforeAll, expect } from '@jest/globals';
import { startTestGateway, type TestGateway } from './gateway.js';
import { browse, signInAtProvider, startTestProvider, type Account, type CookieJar, type TestProvider } from './oidc-provider.js';

export const CLIENT_SECRET = 'client-secret-0123456789-0123456789-abcdef';

export const ACCOUNTS = {
  ada: { preferred_username: 'ada', email: 'ada@example.test', email_verified: true, name: 'Ada Lovelace', groups: ['bi-admins'] },
  bob: { preferred_username: 'bob', email: 'bob@example.test', email_verified: true, name: 'Bob', groups: ['bi-analysts'] },
  eve: { preferred_username: 'eve', email: 'eve@example.test', email_verified: false, name: 'Eve' },
};

export function oidcIssuer(issuer: string, oidc: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    id: 'idp',
    issuer,
    audiences: ['claimgate'],
    discovery: true,
    algorithms: ['RS256'],
    mapping: 'corp',
    jwks: { timeoutMs: 1500, cooldownSeconds: 0 },
    oidc: { clientId: 'claimgate', clientSecret: CLIENT_SECRET, scopes: ['openid', 'profile', 'email', 'groups'], ...oidc },
    ...extra,
  };
}

export function webClient(gatewayUrl: string, extra: Record<string, unknown> = {}) {
  return {
    client_id: 'claimgate',
    client_secret: CLIENT_SECRET,
    redirect_uris: ['http://gateway.test/claimgate/callback', 'https://gateway.test/claimgate/callback'],
    post_logout_redirect_uris: ['http://gateway.test/claimgate/signed-out'],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_basic',
    backchannel_logout_uri: `${gatewayUrl}/claimgate/backchannel-logout`,
    backchannel_logout_session_required: true,
    ...extra,
  };
}

/** /login at the gateway, sign-in at the provider; the authorization response, aimed at the real gateway port. */
export async function startLogin(gw: TestGateway, jar: CookieJar, login: string, returnTo = '/dash?x=1') {
  const start = await browse(jar, `${gw.url}/claimgate/login?issuer=idp&return_to=${encodeURIComponent(returnTo)}`);
  expect(start.status).toBe(302);
  const authUrl = String(start.headers.location);
  const { callbackUrl, form } = await signInAtProvider(jar, authUrl, login);
  const cb = new URL(callbackUrl);
  const local = `${gw.url}${cb.pathname}${cb.search}`;
  return { start, authUrl, callbackUrl: local, form };
}


/** The oidc block of an issuer that re-maps sessions from refresh tokens every second (oidc-provider issues
 * a refresh token for offline_access, which it grants only with prompt=consent). */
export const REFRESHING_OIDC = {
  scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
  extraParams: { prompt: 'consent' },
  refreshIntervalSeconds: 1,
};

/**
 * A real oidc-provider and a gateway that trusts it as issuer `corp` (with the redirect login); `issuer` is merged
 * into the issuer's configuration (`jwks.timeoutMs` is also the timeout of every request to the provider).
 */
export async function startOidcGateway(
  opts: { oidc?: Record<string, unknown>; accounts?: Record<string, Account>; issuer?: Record<string, unknown> } = {},
): Promise<{ idp: TestProvider; gw: TestGateway }> {
  let gw: TestGateway | undefined;
  const idp = await startTestProvider(async (issuer) => {
    gw = await startTestGateway({ issuers: [oidcIssuer(issuer, opts.oidc, opts.issuer)] });
    return { clients: [webClient(gw.url)], accounts: opts.accounts ?? ACCOUNTS };
  });
  return { idp, gw: gw! };
}

/**
 * A provider and gateway for the whole suite: started before its tests (handed over through `set`) and closed after
 * them, gateway first.
 */
export function useOidcGateway(
  set: (started: { idp: TestProvider; gw: TestGateway }) => void,
  opts: Parameters<typeof startOidcGateway>[0] = {},
): void {
  let started: { idp: TestProvider; gw: TestGateway } | undefined;
  beforeAll(async () => {
    started = await startOidcGateway(opts);
    set(started);
  });
  afterAll(async () => {
    await started?.gw.close();
    await started?.idp.close();
  });
}
