import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { request } from 'node:http';
import { call, cookieOf, ISS, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeKeyPair, signToken } from '../helpers/tokens.js';

const dbKind = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

describe(`refusals: one log line each, audit trail complete (${dbKind})`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  /** The info lines about refused requests written since `from`. */
  const refusals = (from: number) =>
    gw.logs
      .slice(from)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === 'request refused');

  const expectOneLine = (from: number, code: string, extra: Record<string, unknown>, secret: string) => {
    const lines = refusals(from).filter((l) => l.code === code);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', ...extra });
    expect(typeof lines[0]!.requestId).toBe('string');
    expect(JSON.stringify(gw.logs.slice(from))).not.toContain(secret);
  };

  it('jti_missing at /sso: logged with issuer and route, never the token', async () => {
    const from = gw.logs.length;
    const jwt = await gw.token({}, { noJti: true });
    expect((await call(`${gw.url}/claimgate/sso?jwt=${jwt}`)).status).toBe(401);
    expectOneLine(from, 'jti_missing', { issuer: 'corp', route: '/claimgate/sso', status: 401 }, jwt);
  });

  it('login_denied: logged; the audit event carries the mapped usercode and the login actor', async () => {
    const from = gw.logs.length;
    const jwt = await gw.token({ sub: 'u-den', preferred_username: 'denny', email_verified: false });
    expect((await call(`${gw.url}/claimgate/sso?jwt=${jwt}`)).status).toBe(403);
    expectOneLine(from, 'login_denied', { issuer: 'corp' }, jwt);
    const ev = await gw.db.knex('audit_events').where({ type: 'login_denied' }).orderBy('id', 'desc').first();
    expect(ev).toMatchObject({ usercode: 'denny', actor: 'login:corp', source: 'mapping:corp' });
  });

  it('route_forbidden and bearer refusals on proxied paths are logged with route and request id', async () => {
    const viewer = await gw.token({ sub: 'u-vic', preferred_username: 'vic', groups: [] });
    const cookie = cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${viewer}`)).headers['set-cookie']);
    let from = gw.logs.length;
    expect((await call(`${gw.url}/admin/x?secret=1`, { headers: { cookie } })).status).toBe(403);
    expectOneLine(from, 'route_forbidden', { route: '/admin/x', status: 403 }, cookie.split('=')[1]!);

    const other = await makeKeyPair('RS256', 'k1');
    const forged = await signToken({ iss: ISS, aud: 'claimgate', sub: 'x' }, { key: other, now: Math.floor(Date.now() / 1000) });
    from = gw.logs.length;
    expect((await call(`${gw.url}/reports`, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    expectOneLine(from, 'signature_invalid', { route: '/reports', issuer: 'corp' }, forged);
  });

  it('a refused WebSocket upgrade is logged too', async () => {
    const viewer = await gw.token({ sub: 'u-wes', preferred_username: 'wes', groups: [] });
    const cookie = cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${viewer}`)).headers['set-cookie']);
    const from = gw.logs.length;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${gw.url}/admin/ws`, { headers: { cookie, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
    const lines = refusals(from).filter((l) => l.code === 'route_forbidden');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', route: '/admin/ws', status: 403 });
  });

  it('identity_conflict is logged', async () => {
    await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ sub: 'u-ida', preferred_username: 'ida' })}`);
    const from = gw.logs.length;
    const jwt = await gw.token({ sub: 'u-ida-2', preferred_username: 'ida' });
    expect((await call(`${gw.url}/claimgate/sso?jwt=${jwt}`)).status).toBe(403);
    expectOneLine(from, 'identity_conflict', { issuer: 'corp' }, jwt);
  });

  it("issuer_unknown / audience_mismatch: the token's value is in the log, never in the answer", async () => {
    let from = gw.logs.length;
    const slash = await gw.token({ iss: `${ISS}/` });
    const r = await call(`${gw.url}/claimgate/sso?jwt=${slash}`);
    expect(r.json().code).toBe('issuer_unknown');
    expect(r.text).not.toContain(`${ISS}/`);
    expect(r.text).not.toContain(ISS);
    expectOneLine(from, 'issuer_unknown', { iss: `${ISS}/`, configuredIssuers: [ISS] }, slash);

    from = gw.logs.length;
    const aud = await gw.token({ aud: 'elsewhere' });
    const a = await call(`${gw.url}/claimgate/sso?jwt=${aud}`);
    expect(a.json().code).toBe('audience_mismatch');
    expect(a.text).not.toContain('elsewhere');
    expectOneLine(from, 'audience_mismatch', { aud: 'elsewhere', configuredAudiences: ['claimgate'], issuer: 'corp' }, aud);
  });

  it('login events name the login actor; role_change records the mapping version and the granting rule', async () => {
    const jwt = await gw.token({ sub: 'u-rae', preferred_username: 'rae', groups: ['bi-admins'] });
    expect((await call(`${gw.url}/claimgate/sso?jwt=${jwt}`)).status).toBe(303);
    const login = await gw.db.knex('audit_events').where({ type: 'login', usercode: 'rae' }).first();
    expect(login.actor).toBe('login:corp');
    const change = await gw.db.knex('audit_events').where({ type: 'role_change', usercode: 'rae' }).first();
    const detail = typeof change.detail === 'string' ? JSON.parse(change.detail) : change.detail;
    expect(detail).toMatchObject({ kind: 'role', added: ['admin'], mappingVersion: null, grantedBy: { admin: ['roles[0]'] } });
  });
});
