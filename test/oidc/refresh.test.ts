import { describe, it, expect } from '@jest/globals';
import { call, type TestGateway } from '../helpers/gateway.js';
import { browse, CookieJar, type Account, type TestProvider } from '../helpers/oidc-provider.js';
import { ACCOUNTS, CLIENT_SECRET, REFRESHING_OIDC, startLogin, useOidcGateway } from '../helpers/oidc-setup.js';
import { SessionCookie } from '../../src/core/sessions/cookie.js';
import { within } from '../helpers/wait.js';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('periodic re-mapping from refresh tokens (oidc.refreshIntervalSeconds)', () => {
  let idp: TestProvider;
  let gw: TestGateway;
  const accounts: Record<string, Account> = {
    ...structuredClone(ACCOUNTS),
    carol: { preferred_username: 'carol', email: 'carol@example.test', email_verified: true, name: 'Carol', groups: ['bi-analysts'] },
    dan: { preferred_username: 'dan', email: 'dan@example.test', email_verified: true, name: 'Dan', groups: ['bi-analysts'] },
    fay: { preferred_username: 'fay', email: 'fay@example.test', email_verified: true, name: 'Fay', groups: ['bi-analysts'] },
    gil: { preferred_username: 'gil', email: 'gil@example.test', email_verified: true, name: 'Gil', groups: ['bi-analysts'] },
  };
  // The gateway waits up to 5 s for the provider here (2 s with the shared issuer settings): a token answer held back
  // 3 s still arrives.
  useOidcGateway((started) => ({ idp, gw } = started), { oidc: REFRESHING_OIDC, accounts, issuer: { jwks: { timeoutMs: 5000, cooldownSeconds: 0 } } });

  const signedIn = async (login: string) => {
    const jar = new CookieJar();
    const { callbackUrl } = await startLogin(gw, jar, login);
    expect((await browse(jar, callbackUrl)).status).toBe(303);
    return jar;
  };
  const me = (jar: CookieJar) => call(`${gw.url}/claimgate/me`, { headers: { cookie: jar.header(gw.url)! } });
  const sessionRow = async (jar: CookieJar) => {
    const raw = jar.get(gw.url, 'claimgate_session')!;
    const idHash = SessionCookie.hashId(raw.split('.')[0]!);
    const row = await gw.db.knex('sessions').where({ id_hash: idHash }).first();
    // Read through the store: the refresh token is kept encrypted in the row.
    const session = await gw.running.gateway.parts.sessions.getByHash(idHash);
    const stored = JSON.stringify(row.data);
    if (session?.data.refreshToken) expect(stored).not.toContain(session.data.refreshToken);
    return { row, data: (session?.data ?? {}) as { refreshToken?: string; refreshedAt?: number } };
  };
  const tokenCalls = () => idp.requests.filter((r) => r === 'POST /token').length;
  /** Whether the log has the line of a finished re-mapping of this user's session. */
  const remapped = (userId: string) =>
    gw.logs.some((l) => {
      const line = JSON.parse(l) as { message?: string; userId?: unknown };
      return line.message === 'session re-mapped from refresh token' && String(line.userId) === String(userId);
    });

  it('a group change at the IdP reaches a signed-in session after the interval; tokens never reach a log', async () => {
    const jar = await signedIn('bob');
    expect((await me(jar)).json().roles).toEqual(['analyst']);
    const before = await sessionRow(jar);
    expect(typeof before.data.refreshToken).toBe('string');
    expect(typeof before.data.refreshedAt).toBe('number');

    accounts.bob!.groups = ['bi-admins'];
    // Within the interval nothing changes and the provider is not asked.
    const calls = tokenCalls();
    expect((await me(jar)).json().roles).toEqual(['analyst']);
    expect(tokenCalls()).toBe(calls);

    await within(6000, async () => JSON.stringify((await me(jar)).json().roles) === '["admin"]');
    // The new roles are visible as soon as they are stored; the log line follows once the other processes are told.
    await within(5000, () => remapped(before.row.user_id));
    const after = await sessionRow(jar);
    expect(after.data.refreshedAt).toBeGreaterThan(before.data.refreshedAt!);
    expect(typeof after.data.refreshToken).toBe('string');
    expect(after.row.revoked_at).toBeNull();
    // The proxied app sees the new role too.
    const app = await call(`${gw.url}/reports`, { headers: { cookie: jar.header(gw.url)! } });
    expect(app.json().headers['x-claimgate-roles']).toBe('admin');

    const logs = gw.logs.join('\n');
    expect(logs).toContain('session re-mapped from refresh token');
    expect(logs).not.toContain(before.data.refreshToken!);
    expect(logs).not.toContain(after.data.refreshToken!);
    expect(logs).not.toContain(CLIENT_SECRET);
  });

  it('never slows a request: a slow provider, concurrent requests, one refresh in flight', async () => {
    const jar = await signedIn('carol');
    const carol = (await sessionRow(jar)).row.user_id as string;
    await sleep(1100);
    // A request that waited for the refresh would take the provider's 3 s at least.
    idp.delays.set('/token', 3000);
    try {
      const calls = tokenCalls();
      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 8 }, () => me(jar)));
      expect(Date.now() - started).toBeLessThan(2500);
      expect(answers.every((a) => a.status === 200)).toBe(true);
      // The delayed token request reaches the provider's log when it arrives, before the delay.
      await within(5000, async () => tokenCalls() > calls);
      await sleep(300);
      expect(tokenCalls()).toBe(calls + 1);
      await within(4000, async () => (await sessionRow(jar)).data.refreshedAt! > started - 1);
    } finally {
      idp.delays.delete('/token');
    }
    // This session's own re-mapping (the first test's session was re-mapped too).
    await within(10_000, () => remapped(carol));
    expect((await me(jar)).status).toBe(200);
  });

  it('a grant revoked at the IdP (invalid_grant) ends the session', async () => {
    const jar = await signedIn('dan');
    const { data } = await sessionRow(jar);
    const revoke = await call(`${idp.issuer}/token/revocation`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`claimgate:${CLIENT_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: data.refreshToken!, token_type_hint: 'refresh_token' }).toString(),
    });
    expect(revoke.status).toBe(200);
    expect((await me(jar)).status).toBe(200); // not yet: the interval has not passed
    await within(6000, async () => (await me(jar)).status === 401);
    expect((await sessionRow(jar)).row.revoked_at).not.toBeNull();
    // A session row read straight from the database can show the revocation a moment before the audit row lands.
    await within(5000, async () => (await gw.db.knex('audit_events').where({ type: 'logout', user_id: (await sessionRow(jar)).row.user_id }).first()) !== undefined);
    const audit = await gw.db.knex('audit_events').where({ type: 'logout' }).orderBy('id', 'desc').first();
    const detail = typeof audit.detail === 'string' ? JSON.parse(audit.detail) : audit.detail;
    expect(detail).toMatchObject({ via: 'refresh', reason: 'invalid_grant' });
    expect(gw.logs.join('\n')).not.toContain(data.refreshToken!);
  });

  it('a user removed at the IdP loses the session at the next refresh', async () => {
    const jar = await signedIn('fay');
    delete accounts.fay;
    await within(6000, async () => (await me(jar)).status === 401);
  });

  it('a user the mapping now denies (require fails) loses the session at the next refresh', async () => {
    const jar = await signedIn('gil');
    accounts.gil!.email_verified = false;
    await within(6000, async () => (await me(jar)).status === 401);
    const denied = await gw.db.knex('audit_events').where({ type: 'login_denied' }).orderBy('id', 'desc').first();
    expect(denied).toBeDefined();
  });
});
