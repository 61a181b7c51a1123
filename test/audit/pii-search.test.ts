import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { call } from '../helpers/gateway.js';
import { makeKeyPair, startJwksServer, type JwksServer, type KeyPair } from '../helpers/tokens.js';
import { eventually, startAdminGateway, type AdminGateway } from '../admin/helpers.js';
import { APP_ID, pushBody } from '../provisioning/events/push.js';

// People's identifiers and credentials that no call below should leave behind anywhere.
const EMAIL = 'zelda.piisearch@corp.test';
const NAME = 'Zelda Piisearchname';
const USERCODE = 'zpiisearch77';
const EMPLOYEE = 'EMP-PIISEARCH-77';
const PASSWORD = 'Pw-PiiSearch-never-stored-1';
const CLIENT_ID = 'pii-search-client-id-42';
const CLIENT_SECRET = 'cgs_PiiSearchSecretThatIsLongEnough0123';
const COOKIE = 'cookie-PiiSearch-value-987';
const API_KEY = 'apikey-PiiSearch-value-654';

/**
 * Every API gets calls full of personal data and secrets (in paths, filters, searches, bodies, headers); then
 * every column of every table, cast to text, and every log line are searched for them.
 */
describe(`request logs keep no PII or credential (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let gw: AdminGateway;
  let jwks: JwksServer;
  let key: KeyPair;
  let other: KeyPair;
  const aesKey = randomBytes(32);
  let scimToken: string;
  let syncToken: string;
  let client: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    key = await makeKeyPair('RS256', 'KEYpii');
    other = await makeKeyPair('RS256', 'KEYpii');
    jwks = await startJwksServer([key.publicJwk]);
    gw = await startAdminGateway({
      logs: { clientIp: 'none' },
      provisioning: { events: { jwksUri: jwks.jwksUri, appId: APP_ID, decryptionKey: aesKey.toString('hex') } },
    });
    const store = gw.running.gateway.parts.credentials.store;
    scimToken = (await store.create({ name: 'pii-scim', scopes: ['scim'] })).token;
    syncToken = (await store.create({ name: 'pii-sync', scopes: ['users:sync'] })).token;
    const c = await store.create({ name: 'pii-client', scopes: ['admin:read'] });
    client = { clientId: c.credential.clientId, clientSecret: c.clientSecret };
  });
  afterAll(async () => {
    await gw?.close();
    await jwks?.close();
  });

  const noisyHeaders = (token: string, type = 'application/json') => ({
    authorization: `Bearer ${token}`,
    'content-type': type,
    cookie: `claimgate_session=${COOKIE}`,
    'x-api-key': API_KEY,
    'x-user-email': EMAIL,
  });

  it('nothing of them is stored or logged', async () => {
    const scim = (method: string, path: string, body?: unknown) =>
      call(`${gw.url}/claimgate/scim/v2${path}`, {
        method,
        headers: noisyHeaders(scimToken, 'application/scim+json'),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const scimUser = {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      displayName: NAME,
      emails: [{ value: EMAIL, primary: true, type: 'work' }],
      name: { givenName: 'Zelda', familyName: 'Piisearchname', formatted: NAME },
      password: PASSWORD,
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: EMPLOYEE },
    };
    // SCIM: a filter, a .search, a person's id in the path, a create refused (no userName), a PATCH of nobody.
    expect((await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${EMAIL}"`)}&count=5`)).status).toBe(200);
    expect((await scim('POST', '/Users/.search', { filter: `emails.value eq "${EMAIL}" or displayName eq "${NAME}"` })).status).toBe(200);
    expect((await scim('GET', `/Users/${USERCODE}`)).status).toBe(404);
    expect((await scim('POST', '/Users', scimUser)).status).toBe(400);
    const ops = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: EMAIL }, { op: 'replace', path: 'password', value: PASSWORD }] };
    expect((await scim('PATCH', `/Users/${USERCODE}`, ops)).status).toBe(404);

    // Sync API: an item refused for want of a usercode, and a body that is not a user at all.
    const sync = (body: string) => call(`${gw.url}/claimgate/api/v1/users/sync`, { method: 'POST', headers: noisyHeaders(syncToken), body });
    const synced = await sync(JSON.stringify([{ email: EMAIL, displayName: NAME, password: PASSWORD, attributes: { workforceId: EMPLOYEE } }]));
    expect(synced.status).toBe(200);
    expect(synced.json().results[0].status).not.toBe('created');
    expect((await sync(JSON.stringify(EMAIL))).status).toBe(400);

    // Token endpoint: an unknown client with a secret (form and Basic), and a known client with a wrong secret.
    const token = (headers: Record<string, string>, body: string) =>
      call(`${gw.url}/claimgate/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
    expect((await token({}, `grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}`)).status).toBe(401);
    const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
    expect((await token({ authorization: `Basic ${basic}` }, 'grant_type=client_credentials')).status).toBe(401);
    const ok = await token({}, `grant_type=client_credentials&client_id=${client.clientId}&client_secret=${encodeURIComponent(client.clientSecret)}`);
    expect(ok.status).toBe(200);
    const accessToken = ok.json().access_token as string;

    // Events: a push signed by a stranger, and a push that is not JSON, both naming a person.
    const forged = await pushBody([{ type: 'ud:user:create', eventTime: 1, bizData: { userId: 'u-pii', username: USERCODE, email: EMAIL, displayName: NAME } }], {
      key: other,
      encryptWith: aesKey,
    });
    const events = (body: string) => call(`${gw.url}/claimgate/events`, { method: 'POST', headers: noisyHeaders('x'), body });
    expect((await events(forged)).status).toBeGreaterThanOrEqual(400);
    expect((await events(`{"event": "${EMAIL}", "password": "${PASSWORD}"`)).status).toBe(400);

    // Admin API: a search, a person's usercode in the path, a change to nobody, a preview with personal claims.
    const admin = (method: string, path: string, body?: unknown) =>
      call(`${gw.url}/claimgate/admin/v1${path}`, { method, headers: noisyHeaders(accessToken), body: body === undefined ? undefined : JSON.stringify(body) });
    expect((await admin('GET', `/users?q=${encodeURIComponent(EMAIL)}`)).status).toBe(200);
    expect((await admin('GET', `/users/${USERCODE}`)).status).toBe(404);
    expect((await admin('GET', `/audit?user=${USERCODE}`)).status).toBe(200);
    const preview = await admin('POST', '/mappings/corp/preview', { claims: { sub: USERCODE, email: EMAIL, name: NAME, password: PASSWORD } });
    expect(preview.status).toBe(200);
    expect(preview.text).toContain(EMAIL);

    // Let every row be written (two per logged call), then search everything.
    await eventually(5000, async () => {
      const r = (await gw.db.knex('request_logs').where({ kind: 'request' }).count({ n: '*' }).first()) as { n: string | number };
      return Number(r.n) >= 16;
    });
    await new Promise((r) => setTimeout(r, 200));
    const tables = (
      (await gw.db.knex.raw(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)) as {
        rows: { table_name: string }[];
      }
    ).rows.map((r) => r.table_name);
    expect(tables).toEqual(expect.arrayContaining(['users', 'request_logs', 'audit_events', 'event_receipts', 'scim_users']));
    const needles = [EMAIL, NAME, USERCODE, EMPLOYEE, PASSWORD, CLIENT_ID, CLIENT_SECRET, COOKIE, API_KEY, scimToken, syncToken, accessToken, client.clientSecret, client.clientId, basic];
    const found: string[] = [];
    for (const t of tables) {
      const rows = ((await gw.db.knex.raw(`SELECT t::text AS row FROM ?? t`, [t])) as { rows: { row: string }[] }).rows;
      for (const { row } of rows) {
        for (const n of needles) {
          // The credential table holds its own client id: that is the credential, not a log of it.
          if (t === 'api_credentials' && n === client.clientId) continue;
          if (row.includes(n) || row.includes(encodeURIComponent(n))) found.push(`${t}: ${n} in ${row.slice(0, 1500)}`);
        }
      }
    }
    const logs = gw.logs.join('\n');
    for (const n of needles) if (logs.includes(n) || logs.includes(encodeURIComponent(n))) found.push(`log output: ${n}`);
    expect(found).toEqual([]);

    // The rows are still useful: route templates, hashed client ids, masked search values.
    const rows = (await gw.db.knex('request_logs').where({ kind: 'request' }).select('path', 'client', 'client_ip', 'detail')) as Record<string, any>[];
    const paths = new Set(rows.map((r) => r.path));
    for (const p of ['/claimgate/scim/v2/Users', '/claimgate/scim/v2/Users/.search', '/claimgate/scim/v2/Users/:id', '/claimgate/api/v1/users/sync', '/claimgate/oauth/token', '/claimgate/events', '/claimgate/admin/v1/users', '/claimgate/admin/v1/users/:id', '/claimgate/admin/v1/mappings/:name/preview']) {
      expect(paths).toContain(p);
    }
    expect(rows.every((r) => r.client_ip === null)).toBe(true);
    const filterRow = rows.find((r) => r.path === '/claimgate/scim/v2/Users')!;
    expect(typeof filterRow.detail === 'string' ? JSON.parse(filterRow.detail) : filterRow.detail).toEqual({ query: { filter: '[redacted]', count: '5' } });
    expect(rows.filter((r) => r.path === '/claimgate/oauth/token').map((r) => r.client)).toEqual(expect.arrayContaining([expect.stringMatching(/^client:[0-9a-f]{12}$/)]));
  });

  it('calls that succeed store the people in the user tables, and still nowhere in the request log or log output', async () => {
    const logRows = async () => Number(((await gw.db.knex('request_logs').count({ n: '*' }).first()) as { n: string | number }).n);
    const rowsBefore = await logRows();
    const P = {
      email: 'yara.okpath@corp.test',
      display: 'Yara Okpathdisplay',
      given: 'Yarafirst',
      family: 'Okpathlast',
      externalId: 'aad-oid-okpath-5150',
      employee: 'EMP-OKPATH-88',
      manager: 'mgr-okpath-77',
      idpUsername: 'yara.idpname.okpath',
      cloudUsername: 'yara.cloud.okpath',
      syncReference: 'ref-okpath-4242',
      syncWorkforce: 'wf-okpath-4343',
      forenames: 'Vendorfirstname',
      surname: 'Vendorsurname',
      readable: 'Vendor Readable Okpath',
      vendorEmail: 'vendor.okpath@corp.test',
    };
    const scim = (method: string, path: string, body?: unknown) =>
      call(`${gw.url}/claimgate/scim/v2${path}`, { method, headers: noisyHeaders(scimToken, 'application/scim+json'), body: body === undefined ? undefined : JSON.stringify(body) });
    const created = await scim('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: P.email,
      externalId: P.externalId,
      displayName: P.display,
      name: { givenName: P.given, familyName: P.family },
      emails: [{ value: P.email, primary: true, type: 'work' }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: P.employee, manager: { value: P.manager } },
    });
    expect(created.status).toBe(201);
    const id = created.json().id as string;
    expect((await scim('GET', `/Users/${id}`)).status).toBe(200);
    const patched = await scim('PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: P.display }] });
    expect(patched.status).toBe(200);

    const sync = (body: unknown) => call(`${gw.url}/claimgate/api/v1/users/sync`, { method: 'POST', headers: noisyHeaders(syncToken), body: JSON.stringify(body) });
    const own = await sync({ usercode: 'okpathown', email: `own.${P.email}`, idpReferenceId: P.syncReference, idpUsername: P.idpUsername, idpWorkforceId: P.syncWorkforce, idpCloudUsername: P.cloudUsername });
    expect(own.json().results[0].outcome).toBe('created');
    const vendor = await sync([{ user: { usercode: 'okpathvendor', forenames: P.forenames, surname: P.surname, email: P.vendorEmail, readableUserCode: P.readable }, userRoles: [], userCategories: [], restrictions: [], variables: [] }]);
    expect(vendor.json().results[0].outcome).toBe('created');

    const read = (await gw.running.gateway.parts.credentials.store.create({ name: 'pii-admin-reader', scopes: ['admin:read'] })).token;
    const admin = (path: string) => call(`${gw.url}/claimgate/admin/v1${path}`, { headers: noisyHeaders(read) });
    for (const u of [id, 'okpathown', 'okpathvendor']) expect((await admin(`/users/${u}`)).status).toBe(200);
    expect((await admin('/users?limit=50')).status).toBe(200);

    // Every call above (nine) leaves its two rows: all of them are scanned.
    await eventually(5000, async () => (await logRows()) >= rowsBefore + 18);
    const needles = Object.values(P);
    // The user tables hold them (that is their job): the request log and the log output must not.
    const users = JSON.stringify(await gw.db.knex('users').whereIn('usercode', [P.email, 'okpathown', 'okpathvendor']).select());
    expect(needles.filter((n) => users.includes(n)).length).toBeGreaterThan(5);
    const found: string[] = [];
    for (const row of (await gw.db.knex('request_logs').select()) as Record<string, unknown>[]) {
      const text = JSON.stringify(row);
      for (const n of needles) if (text.includes(n)) found.push(`${String(row.kind)} ${String(row.path)}: ${n}`);
    }
    const logs = gw.logs.join('\n');
    for (const n of needles) if (logs.includes(n)) found.push(`log output: ${n}`);
    expect(found).toEqual([]);
  });
});
