/**
 * Three gateway instances on one PostgreSQL database behind a round-robin balancer (docs/deployment.md, several
 * instances): first logins, SCIM writes, mapping changes, suspensions and manual job runs, each seen by every instance.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Scope } from '../../src/core/credentials/index.js';
import { describeIfPostgres } from '../helpers/db.js';
import { DEFAULT_MAPPING, call, cookieOf, startAnotherInstance, startTestGateway, type OtherInstance, type TestGateway } from '../helpers/gateway.js';
import { startBalancer, type Balancer } from '../helpers/balancer.js';
import { ENTERPRISE, USER } from '../provisioning/scim-helpers.js';
import { ACROSS_PROCESSES_MS, within } from '../helpers/wait.js';


describeIfPostgres('three gateway instances on one PostgreSQL database behind a round-robin balancer', () => {
  let a: TestGateway;
  const others: OtherInstance[] = [];
  let urls: string[];
  let lb: Balancer;
  let directory: Server;
  let directoryHits = 0;
  const tokens = {} as Record<'write' | 'scim', string>;

  beforeAll(async () => {
    // A slow directory (1 s an answer), so a profile run lasts long enough for simultaneous requests to overlap it
    // even when a loaded machine spreads their arrival.
    directory = createServer((req, res) => {
      directoryHits++;
      const who = (req.url ?? '').split('/').pop()!;
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ cn: `Name of ${who}` })), 1000);
    });
    await new Promise<void>((r) => directory.listen(0, '127.0.0.1', r));
    const urlTemplate = `http://127.0.0.1:${(directory.address() as AddressInfo).port}/users/{usercode}`;
    a = await startTestGateway({
      jobs: { profile: { intervalSeconds: 3600, directory: { urlTemplate, mapping: { displayName: 'cn' } } } },
      provisioning: { scim: { groupRoles: { 'BI Admins': 'admin' } } },
    });
    for (let i = 0; i < 2; i++) {
      others.push(await startAnotherInstance(a, { jobs: { disabled: true } }));
    }
    urls = [a.url, ...others.map((o) => o.url)];
    lb = await startBalancer(urls);
    const make = async (name: string, scopes: Scope[]) => (await a.running.gateway.parts.credentials.store.create({ name, scopes })).token;
    tokens.write = await make('platform', ['admin:write']);
    tokens.scim = await make('entra', ['scim']);
  });
  afterAll(async () => {
    await lb?.close();
    for (const o of others) await o.close();
    await a?.close();
    await new Promise((r) => directory?.close(r));
  });

  const person = (n: number) => ({ sub: `u-p${n}`, preferred_username: `person${n}`, email: `person${n}@example.test`, groups: ['bi-analysts'] });
  const signInVia = async (base: string, claims: Record<string, unknown>) => {
    const r = await call(`${base}/claimgate/sso?jwt=${await a.token(claims)}`);
    if (r.status !== 303) throw new Error(`sign-in failed: ${r.status} ${r.text}`);
    return cookieOf(r.headers['set-cookie']);
  };
  const rolesAt = async (base: string, cookie: string) => (await call(`${base}/x`, { headers: { cookie } })).json().headers['x-claimgate-roles'] as string;
  const admin = (base: string, method: string, path: string, body?: unknown) =>
    call(`${base}/claimgate/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${tokens.write}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('the balancer spreads requests over all three', async () => {
    const before = [...lb.hits];
    for (let i = 0; i < 6; i++) expect((await call(`${lb.url}/claimgate/health/live`)).status).toBe(200);
    expect(lb.hits.map((h, i) => h - before[i]!)).toEqual([2, 2, 2]);
  });

  it('concurrent first logins of the same 10 people (4 at once each, through the balancer) make exactly 10 users', async () => {
    const attempts = Array.from({ length: 10 }, (_, n) => Array.from({ length: 4 }, () => signInVia(lb.url, person(n)))).flat();
    const cookies = await Promise.all(attempts);
    expect(new Set(cookies).size).toBe(40);
    const rows = await a.db.knex('users').whereIn('usercode', Array.from({ length: 10 }, (_, n) => `person${n}`));
    expect(rows).toHaveLength(10);
    const identities = await a.db.knex('user_identities').whereIn('user_id', rows.map((r) => r.id));
    expect(identities).toHaveLength(10);
    // Every session works on every instance.
    for (const base of urls) expect(await rolesAt(base, cookies[0]!)).toBe('analyst');
  });

  it('SCIM writes through one instance are seen by the others', async () => {
    const scim = (base: string, method: string, path: string, body?: unknown) =>
      call(`${base}/claimgate/scim/v2${path}`, {
        method,
        headers: { authorization: `Bearer ${tokens.scim}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const created = await scim(urls[0]!, 'POST', '/Users', { schemas: [USER, ENTERPRISE], userName: 'sara', displayName: 'Sara S', active: true, [ENTERPRISE]: { department: 'Finance' } });
    expect(created.status).toBe(201);
    const id = created.json().id as string;
    for (const base of urls.slice(1)) {
      const got = await scim(base, 'GET', `/Users/${id}`);
      expect(got.status).toBe(200);
      expect(got.json()).toMatchObject({ userName: 'sara', active: true, [ENTERPRISE]: { department: 'Finance' } });
      expect((await scim(base, 'GET', `/Users?filter=${encodeURIComponent('userName eq "sara"')}`)).json().totalResults).toBe(1);
    }
    const group = await scim(urls[1]!, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'BI Admins', members: [{ value: id }] });
    expect(group.status).toBe(201);
    // The group role given through B is what A and C forward for sara after her first login.
    const cookie = await signInVia(urls[2]!, { sub: 'u-sara', preferred_username: 'sara', groups: [] });
    for (const base of urls) expect((await rolesAt(base, cookie)).split(',').sort()).toEqual(['admin', 'viewer']);
    expect((await scim(urls[2]!, 'PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] })).status).toBe(200);
    for (const base of urls) expect((await scim(base, 'GET', `/Users/${id}`)).json().active).toBe(false);
    await within(ACROSS_PROCESSES_MS, async () => (await Promise.all(urls.map(async (b) => (await call(`${b}/x`, { headers: { cookie } })).status))).every((s) => s === 401));
  });

  it('a mapping change through the admin API applies to the next login on every instance', async () => {
    const claims = person(0);
    const cookie = await signInVia(urls[1]!, claims);
    expect(await rolesAt(urls[1]!, cookie)).toBe('analyst');
    const put = await admin(urls[0]!, 'PUT', '/mappings/corp', { ...DEFAULT_MAPPING, roles: [{ from: 'groups', map: { 'bi-analysts': 'analyst_v2' } }] });
    expect(put.status).toBe(200);
    await within(ACROSS_PROCESSES_MS, async () => {
      const roles = await Promise.all(urls.map(async (b) => rolesAt(b, await signInVia(b, claims))));
      return roles.every((r) => r === 'analyst_v2');
    });
    expect((await admin(urls[2]!, 'DELETE', '/mappings/corp')).status).toBe(204);
    await within(ACROSS_PROCESSES_MS, async () => (await Promise.all(urls.map(async (b) => rolesAt(b, await signInVia(b, claims))))).every((r) => r === 'analyst'));
  });

  it('a suspension through the admin API stops the user\'s sessions on all three', async () => {
    const claims = person(1);
    const cookies = await Promise.all(urls.map((b) => signInVia(b, claims)));
    for (const base of urls) for (const c of cookies) expect((await call(`${base}/x`, { headers: { cookie: c } })).status).toBe(200);
    const user = await a.running.gateway.parts.users.getByUsercode('person1');
    const patched = await admin(urls[1]!, 'PATCH', `/users/${user!.id}`, { lifecycle: 'SUSPENDED' });
    expect(patched.status).toBe(200);
    await within(ACROSS_PROCESSES_MS, async () => {
      const statuses = await Promise.all(urls.flatMap((b) => cookies.map(async (c) => (await call(`${b}/x`, { headers: { cookie: c } })).status)));
      return statuses.every((s) => s === 401);
    });
    // And no instance lets the user sign in again.
    for (const base of urls) {
      const r = await call(`${base}/claimgate/sso?jwt=${await a.token(claims)}`);
      expect({ status: r.status, code: r.json().code }).toEqual({ status: 403, code: 'user_suspended' });
    }
  });

  it('a job run requested at the same moment on all three runs once', async () => {
    // Users with no display name: the run asks the (slow) directory for each, so it lasts a second or more.
    for (const u of ['nina', 'omar', 'pia']) await a.running.gateway.parts.users.createUser({ usercode: u, source: 'api', profile: { email: `${u}@example.test` } });
    const before = await a.db.knex('job_runs').where({ job: 'profile' });
    directoryHits = 0;
    const answers = await Promise.all(urls.map((b) => admin(b, 'POST', '/jobs/profile/run')));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409]);
    for (const r of answers.filter((x) => x.status === 409)) expect(r.json().code).toBe('job_running');
    const runs = await a.db.knex('job_runs').where({ job: 'profile' });
    expect(runs.length - before.length).toBe(1);
    expect(runs.at(-1)).toMatchObject({ status: 'succeeded', trigger: 'manual' });
    // One run: each of the three users was looked up once.
    expect(directoryHits).toBe(3);
    expect((await a.running.gateway.parts.users.getByUsercode('nina'))!.displayName).toBe('Name of nina');
  });
});
