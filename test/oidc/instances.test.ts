import { it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { SessionCookie } from '../../src/core/sessions/cookie.js';
import { describeIfPostgres } from '../helpers/db.js';
import { call, startAnotherInstance, type OtherInstance, type TestGateway } from '../helpers/gateway.js';
import { browse, CookieJar, type Account, type TestProvider } from '../helpers/oidc-provider.js';
import { ACCOUNTS, REFRESHING_OIDC, startLogin, startOidcGateway } from '../helpers/oidc-setup.js';
import { ACROSS_PROCESSES_MS, within } from '../helpers/wait.js';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';


describeIfPostgres('OIDC sessions across two gateway instances on one PostgreSQL database', () => {
  let idp: TestProvider;
  let a: TestGateway;
  let b: OtherInstance;
  const accounts: Record<string, Account> = structuredClone(ACCOUNTS);
  beforeAll(async () => {
    // The provider delivers back-channel logouts to instance A only.
    ({ idp, gw: a } = await startOidcGateway({ oidc: REFRESHING_OIDC, accounts }));
    b = await startAnotherInstance(a, { jobs: { disabled: true } });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await idp?.close();
  });

  const signedIn = async (login: string) => {
    const jar = new CookieJar();
    const { callbackUrl } = await startLogin(a, jar, login);
    expect((await browse(jar, callbackUrl)).status).toBe(303);
    return jar;
  };
  const cookie = (jar: CookieJar) => ({ cookie: jar.header(a.url)! });
  const meAt = (url: string, jar: CookieJar) => call(`${url}/claimgate/me`, { headers: cookie(jar) });
  const sid = async (jar: CookieJar) => {
    const raw = jar.get(a.url, 'claimgate_session')!;
    const row = await a.db.knex('sessions').where({ id_hash: SessionCookie.hashId(raw.split('.')[0]!) }).first();
    return (typeof row.data === 'string' ? JSON.parse(row.data) : row.data).sid as string;
  };
  const logoutToken = (claims: Record<string, unknown>) =>
    idp.sign(
      { iss: idp.issuer, aud: 'claimgate', iat: Math.floor(Date.now() / 1000), jti: randomUUID(), events: { [EVENT]: {} }, ...claims },
      { typ: 'logout+jwt' },
    );
  const deliverToA = async (token: string) => {
    const res = await call(`${a.url}/claimgate/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }).toString(),
    });
    expect(res.status).toBe(200);
  };

  it('a back-channel logout (sid) received by instance A ends the session on instance B', async () => {
    const jar = await signedIn('ada');
    const other = await signedIn('ada');
    // B has served (and cached) both sessions.
    expect((await meAt(b.url, jar)).status).toBe(200);
    expect((await meAt(b.url, other)).status).toBe(200);
    await deliverToA(await logoutToken({ sid: await sid(jar) }));
    expect((await meAt(a.url, jar)).status).toBe(401); // at once on A
    await within(ACROSS_PROCESSES_MS, async () => (await meAt(b.url, jar)).status === 401);
    expect((await meAt(b.url, other)).status).toBe(200); // another provider session of the same user lives on
  });

  it('a back-channel logout (sub only) received by A ends every session of that user on B', async () => {
    const one = await signedIn('bob');
    const two = await signedIn('bob');
    expect((await meAt(b.url, one)).status).toBe(200);
    expect((await meAt(b.url, two)).status).toBe(200);
    await deliverToA(await logoutToken({ sub: 'bob' }));
    await within(ACROSS_PROCESSES_MS, async () => (await meAt(b.url, one)).status === 401 && (await meAt(b.url, two)).status === 401);
  });

  it('a logout at the provider, delivered by it to A, ends the session on B', async () => {
    const jar = await signedIn('ada');
    expect((await meAt(b.url, jar)).status).toBe(200);
    const end = await browse(jar, `${idp.issuer}/session/end`);
    const action = /<form[^>]*action="([^"]+)"/.exec(end.text)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(end.text)![1]!;
    await browse(jar, new URL(action, idp.issuer).href, { form: { xsrf, logout: 'yes' } });
    await within(ACROSS_PROCESSES_MS, async () => (await meAt(b.url, jar)).status === 401);
  });

  it('both instances serving one session redeem its refresh token once per interval, and both see the new role', async () => {
    accounts.bob!.groups = ['bi-analysts'];
    const jar = await signedIn('bob');
    expect((await meAt(b.url, jar)).json().roles).toEqual(['analyst']);
    accounts.bob!.groups = ['bi-admins'];
    await new Promise((r) => setTimeout(r, 1050));
    const calls = idp.requests.filter((r) => r === 'POST /token').length;
    await Promise.all([a.url, b.url, a.url, b.url].map((u) => meAt(u, jar)));
    // Both instances saw the due session at once; one claimed it in the database, the other's claim failed.
    const tokenCalls = () => idp.requests.filter((r) => r === 'POST /token').length - calls;
    await within(5000, () => tokenCalls() >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(tokenCalls()).toBe(1);
    // Whichever instance refreshed it, the other learns of the new role through the bus.
    await within(ACROSS_PROCESSES_MS, async () => JSON.stringify((await meAt(b.url, jar)).json().roles) === '["admin"]');
    await within(ACROSS_PROCESSES_MS, async () => JSON.stringify((await meAt(a.url, jar)).json().roles) === '["admin"]');
  });
});
