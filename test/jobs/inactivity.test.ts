import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { runCli } from '../../src/app/cli/main.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/db/index.js';
import { parseConfigText } from '../../src/core/config/load.js';

const dbName = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

describe(`inactivity step of the deletion job (${dbName})`, () => {
  const clock = new FakeClock('2026-03-01T09:30:00Z');
  let gw: TestGateway;
  let adminToken: string;
  let syncToken: string;

  beforeAll(async () => {
    gw = await startTestGateway(
      { jobs: { inactivity: { suspendAfterDays: 90, userTypes: ['PERSON'] }, deletion: { at: '02:00' } } },
      {},
      { now: clock.now, jobs: { clock } },
    );
    adminToken = (await ctx().credentials.store.create({ name: 'ops', scopes: ['admin:write'] })).token;
    syncToken = (await ctx().credentials.store.create({ name: 'hr-sync', scopes: ['users:sync'] })).token;
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  const ctx = () => gw.running.gateway.parts;
  const signIn = async (username: string) => {
    const jwt = await gw.token({ preferred_username: username, sub: `sub-${username}` }, { now: Math.floor(clock.now() / 1000) });
    const res = await call(`${gw.url}/claimgate/sso?jwt=${jwt}`);
    expect(res.status).toBe(303);
    return cookieOf(res.headers['set-cookie']);
  };
  const user = async (usercode: string) => (await ctx().users.getByUsercode(usercode))!;

  it('records the day of the last sign-in or provisioning change, writing at most once a day', async () => {
    await signIn('idle');
    expect((await user('idle')).lastActivityAt).toBe('2026-03-01T00:00:00.000Z');
    await clock.advanceTo('2026-03-01T18:00:00Z');
    const before = (await gw.db.knex('users').where({ usercode: 'idle' }).first()).updated_at;
    await signIn('idle');
    expect((await gw.db.knex('users').where({ usercode: 'idle' }).first()).updated_at).toEqual(before);
    expect((await user('idle')).lastActivityAt).toBe('2026-03-01T00:00:00.000Z');
    await signIn('returning');
    await signIn('synced');
    await ctx().users.createUser({ usercode: 'svc-report', profile: { userType: 'SERVICE' }, source: 'api' });
  });

  it('suspends a user idle for more than 90 days (dry run first), not a recent one', async () => {
    await clock.advanceTo('2026-05-10T12:00:00Z');
    await signIn('returning'); // came back within the window
    // Never signs in again, but the sync API changes it: provisioning activity counts as activity.
    const synced = await call(`${gw.url}/claimgate/api/v1/users/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${syncToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ usercode: 'synced', displayName: 'Synced Again' }),
    });
    expect(synced.status).toBe(200);
    expect((await user('synced')).lastActivityAt).toBe('2026-05-10T00:00:00.000Z');
    await clock.advanceTo('2026-05-30T12:00:00Z');
    await ctx().users.createUser({ usercode: 'fresh', source: 'api' }); // provisioned recently, never signed in
    await signIn('idle-with-session');
    // As if it had last been active one day after "idle": it becomes due one night later.
    await gw.db.knex('users').where({ usercode: 'idle-with-session' }).update({ last_activity_at: new Date('2026-03-02T00:00:00Z') });
    await clock.advanceTo('2026-05-31T01:00:00Z'); // 91 days after the 1st of March

    const listed = await call(`${gw.url}/claimgate/admin/v1/jobs/deletion/inactive`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(listed.status).toBe(200);
    expect(listed.json().items.map((u: { usercode: string }) => u.usercode)).toEqual(['idle']);
    expect(listed.json().cutoff).toBe('2026-03-02T00:00:00.000Z');

    const dry = await ctx().jobs.trigger('deletion', { trigger: 'manual', dryRun: true, actor: 'admin:test' });
    if (dry.state !== 'started') throw new Error(dry.state);
    expect(await dry.done).toMatchObject({ status: 'succeeded', dryRun: true, counts: { wouldSuspendInactive: 1 } });
    await ctx().jobs.idle(); // the dry run's lock is released before the scheduled run asks for it
    expect((await user('idle')).lifecycle).toBe('ACTIVE');

    await clock.advanceTo('2026-05-31T02:00:00Z'); // the scheduled run
    await ctx().jobs.idle();
    expect((await user('idle')).lifecycle).toBe('SUSPENDED');
    expect((await user('idle-with-session')).lifecycle).toBe('ACTIVE');
    const sessionsOf = async (usercode: string) =>
      gw.db.knex('sessions').where({ user_id: (await user(usercode)).id }).select('revoked_at');
    expect((await sessionsOf('idle-with-session')).map((r) => r.revoked_at)).toEqual([null]);

    await clock.advanceTo('2026-06-01T02:00:00Z'); // the next night
    await ctx().jobs.idle();
    expect((await user('idle-with-session')).lifecycle).toBe('SUSPENDED');
    for (const name of ['returning', 'synced', 'fresh', 'svc-report']) expect((await user(name)).lifecycle).toBe('ACTIVE');
    // Its session ended with the suspension.
    expect((await sessionsOf('idle-with-session')).every((r) => r.revoked_at !== null)).toBe(true);

    const audit = await gw.db.knex('audit_events').where({ usercode: 'idle', type: 'lifecycle_change' }).first();
    const detail = typeof audit.detail === 'string' ? JSON.parse(audit.detail) : audit.detail;
    expect(detail).toMatchObject({ before: 'ACTIVE', after: 'SUSPENDED', reason: 'inactivity', lastActivityAt: '2026-03-01T00:00:00.000Z' });
    expect(audit.actor).toBe('job:deletion');
  });

  it('claimgate inactive lists the next candidates from the configured database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-inactive-'));
    const file = join(dir, 'claimgate.yaml');
    writeFileSync(
      file,
      `publicUrl: http://gateway.test
session: { secret: ${'s'.repeat(40)} }
upstream: { url: http://127.0.0.1:9 }
database: { url: '', dataDir: ${join(dir, 'data')} }
jobs: { inactivity: { suspendAfterDays: 30 } }
`,
    );
    const io = () => {
      const out: string[] = [];
      return { out, io: { out: (s: string) => out.push(s), err: () => undefined, env: {} as NodeJS.ProcessEnv } };
    };
    expect(await runCli(['migrate', '--config', file], io().io)).toBe(0);
    const db = await openDatabase({ ...parseConfigText(readFileSync(file, 'utf8'), {}).database });
    await db.knex('users').insert([
      { id: '01JOLD', usercode: 'old-timer', created_at: new Date('2020-01-01T00:00:00Z'), updated_at: new Date('2020-01-01T00:00:00Z'), last_activity_at: new Date('2020-02-01T00:00:00Z') },
      { id: '01JNEW', usercode: 'newcomer', created_at: new Date(), updated_at: new Date() },
    ]);
    await db.close();
    const listed = io();
    expect(await runCli(['inactive', '--json', '--config', file], listed.io)).toBe(0);
    const report = JSON.parse(listed.out.join('\n'));
    expect(report.suspendAfterDays).toBe(30);
    expect(report.items.map((u: { usercode: string }) => u.usercode)).toEqual(['old-timer']);
    expect(report.items[0].lastActivityAt).toBe('2020-02-01T00:00:00.000Z');
  }, 60_000);
});
