import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Database } from '../../src/store/db/index.js';
import { GatewayError } from '../../src/core/errors/errors.js';
import { UserStore } from '../../src/store/users/index.js';
import { openTestDatabase } from '../helpers/db.js';
import { CORP, PARTNER, desired, login } from './fixtures.js';

const kindName = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

describe(`UserStore.loginSync (${kindName})`, () => {
  let db: Database;
  let store: UserStore;
  let now: number;
  let changed: string[];
  let n = 0;
  /** A usercode and sub nobody else in this file uses. */
  const fresh = () => {
    n++;
    return { usercode: `user${n}`, sub: `sub-${n}` };
  };

  beforeAll(async () => {
    db = await openTestDatabase();
    store = new UserStore(db, { now: () => now, onUserChanged: (id) => changed.push(id) });
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(() => {
    now = Date.parse('2026-11-24T10:00:00Z');
    changed = [];
  });

  const count = async (table: string, where: Record<string, unknown> = {}) => {
    const [row] = (await db.knex(table).where(where).count({ n: '*' })) as { n: string | number }[];
    return Number(row!.n);
  };
  const audits = (userId: string, type?: string) => count('audit_events', type ? { user_id: userId, type } : { user_id: userId });

  /** Row versions of everything a login may write for a user: identical snapshots mean nothing was written. */
  async function snapshot(userId: string): Promise<unknown> {
    const x = async (table: string, col: string) =>
      ((await db.knex.raw(`SELECT xmin::text AS x FROM ${table} WHERE ${col} = ? ORDER BY 1`, [userId])) as { rows: { x: string }[] }).rows.map(
        (r) => r.x,
      );
    return {
      users: await x('users', 'id'),
      grants: await x('user_grants', 'user_id'),
      attributes: await x('user_attributes', 'user_id'),
      identities: await x('user_identities', 'user_id'),
      audits: await audits(userId),
    };
  }

  it('stores claims with NUL characters and lone surrogates (keys and values) as U+FFFD, and keeps pairs and other text', async () => {
    const { usercode, sub } = fresh();
    const claims = { sub, ['k\u0000ey']: 'a\u0000b', lone: ['x\ud800y', '\udc00'], pair: 'smile \ud83d\ude00', ['\ud801']: { deep: 'ok\u0000' } };
    const r = await store.loginSync(login(sub, desired({ usercode }), { claims }));
    const [row] = (await db.knex('login_claims').where({ user_id: r.user.id }).select('claims')) as { claims: unknown }[];
    const stored = typeof row!.claims === 'string' ? (JSON.parse(row!.claims) as unknown) : row!.claims;
    expect(stored).toEqual({ sub, ['k\ufffdey']: 'a\ufffdb', lone: ['x\ufffdy', '\ufffd'], pair: 'smile \ud83d\ude00', ['\ufffd']: { deep: 'ok\ufffd' } });
  });

  it('creates a user with profile, identity, grants and attributes of its source, audited', async () => {
    const { usercode, sub } = fresh();
    const r = await store.loginSync(login(sub, desired({ usercode, profile: { email: 'a@x.io', displayName: 'A', tags: ['t1'] } }), { claims: { sub, groups: ['g'] } }));
    expect(r.created).toBe(true);
    expect(r.changed).toBe(true);
    expect(r.user).toMatchObject({
      usercode,
      lifecycle: 'ACTIVE',
      email: 'a@x.io',
      displayName: 'A',
      firstName: null,
      userType: 'PERSON',
      tags: ['t1'],
      version: 1,
      roles: [{ name: 'analyst', source: 'mapping:corp' }],
      permissions: [{ name: 'export', source: 'mapping:corp' }],
      attributes: { region: [{ source: 'mapping:corp', values: ['EU'] }] },
      identities: [{ issuerId: 'corp', iss: CORP.iss, sub }],
      lastLoginAt: new Date(now).toISOString(),
      createdAt: new Date(now).toISOString(),
    });
    expect(r.user.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(r.changes.profile.sort()).toEqual(['displayName', 'email', 'tags']);
    expect(await audits(r.user.id, 'user_created')).toBe(1);
    expect(await audits(r.user.id, 'role_change')).toBe(3); // roles, permissions, attributes
    expect(await count('login_claims', { user_id: r.user.id })).toBe(1);
    expect(changed).toEqual([]); // a new user is in nobody's cache
    expect(await store.getByUsercode(usercode.toUpperCase())).toEqual(r.user);
    expect(await store.getById(r.user.id)).toEqual(r.user);
  });

  it('an unchanged login writes no user, grant, attribute, identity or audit row and keeps the version', async () => {
    const { usercode, sub } = fresh();
    const d = desired({ usercode });
    const first = await store.loginSync(login(sub, d));
    const before = await snapshot(first.user.id);
    now += 30_000;
    const again = await store.loginSync(login(sub, desired({ usercode, roles: ['analyst', 'analyst'] })));
    expect(again).toMatchObject({ created: false, changed: false });
    expect(again.changes).toEqual({ profile: [] });
    expect(again.user).toEqual(first.user);
    expect(await snapshot(first.user.id)).toEqual(before);
    expect(changed).toEqual([]);

    // last_login_at moves at most once a minute, without a version bump.
    now += 31_000;
    const later = await store.loginSync(login(sub, d));
    expect(later.changed).toBe(false);
    expect(later.user.version).toBe(1);
    expect(later.user.lastLoginAt).toBe(new Date(now).toISOString());
    expect(later.user.updatedAt).toBe(first.user.updatedAt);
    expect(changed).toEqual([]);
  });

  it('applies the sync modes: always (absent keeps), onCreate, never', async () => {
    const { usercode, sub } = fresh();
    const sync = { firstName: 'onCreate', idpUsername: 'never' } as const;
    const created = await store.loginSync(
      login(sub, desired({ usercode, sync, profile: { email: 'old@x.io', displayName: 'Old', firstName: 'First', idpUsername: 'sam1' } })),
    );
    expect(created.user).toMatchObject({ email: 'old@x.io', displayName: 'Old', firstName: 'First', idpUsername: null });

    now += 1000;
    const r = await store.loginSync(
      login(sub, desired({ usercode, sync, profile: { email: 'new@x.io', firstName: 'Changed', idpUsername: 'sam2' } })),
    );
    expect(r.changed).toBe(true);
    expect(r.changes.profile).toEqual(['email']);
    expect(r.user).toMatchObject({ email: 'new@x.io', displayName: 'Old', firstName: 'First', idpUsername: null, version: 2 });
    expect(r.user.updatedAt).toBe(new Date(now).toISOString());
    expect(changed).toEqual([r.user.id]);
    const [ev] = (await db.knex('audit_events').where({ user_id: r.user.id, type: 'profile_change' })) as { detail: unknown; source: string }[];
    expect(ev).toMatchObject({ source: 'mapping:corp', detail: { fields: ['email'], before: { email: 'old@x.io' }, after: { email: 'new@x.io' } } });
  });

  it("replaces its own source's grants and attributes, leaving other sources' alone, audited with before/after", async () => {
    const { usercode, sub } = fresh();
    const first = await store.loginSync(login(sub, desired({ usercode, roles: ['analyst', 'viewer'], attributes: { region: ['EU'], team: ['a'] } })));
    const id = first.user.id;
    await store.setSourceGrants(id, 'scim', { roles: ['admin', 'viewer'], attributes: { region: ['US'] } });
    await store.setSourceGrants(id, 'mapping:partner', { permissions: ['export'] });
    changed = [];

    now += 1000;
    const r = await store.loginSync(login(sub, desired({ usercode, roles: ['viewer', 'finance'], permissions: [], attributes: { region: ['EU', 'APAC'] } })));
    expect(r.changed).toBe(true);
    expect(r.changes.roles).toEqual({ before: ['analyst', 'viewer'], after: ['finance', 'viewer'], added: ['finance'], removed: ['analyst'] });
    expect(r.changes.permissions).toEqual({ before: ['export'], after: [], added: [], removed: ['export'] });
    expect(r.changes.attributes).toMatchObject({ changed: ['region', 'team'] });
    expect(r.user.roles).toEqual([
      { name: 'admin', source: 'scim' },
      { name: 'finance', source: 'mapping:corp' },
      { name: 'viewer', source: 'mapping:corp' },
      { name: 'viewer', source: 'scim' },
    ]);
    expect(r.user.permissions).toEqual([{ name: 'export', source: 'mapping:partner' }]);
    expect(r.user.attributes).toEqual({
      region: [
        { source: 'mapping:corp', values: ['APAC', 'EU'] },
        { source: 'scim', values: ['US'] },
      ],
    });
    expect(r.user.version).toBe(first.user.version + 3);
    expect(changed).toEqual([id]);

    const state = await store.getAuthState(id);
    expect(state).toEqual({
      userId: id,
      usercode,
      lifecycle: 'ACTIVE',
      version: r.user.version,
      email: 'alice@example.com',
      displayName: 'Alice Example',
      roles: ['admin', 'finance', 'viewer'],
      permissions: ['export'],
      attributes: { region: ['APAC', 'EU', 'US'] },
    });

    const roleEvents = (await db
      .knex('audit_events')
      .where({ user_id: id, type: 'role_change', source: 'mapping:corp' })
      .where('at', '=', new Date(now))
      .orderBy('id')) as { detail: Record<string, unknown> }[];
    expect(roleEvents.map((e) => e.detail.kind)).toEqual(['role', 'permission', 'attribute']);
    expect(roleEvents[0]!.detail).toEqual({
      kind: 'role',
      source: 'mapping:corp',
      before: ['analyst', 'viewer'],
      after: ['finance', 'viewer'],
      added: ['finance'],
      removed: ['analyst'],
    });
    expect(roleEvents[2]!.detail).toMatchObject({ kind: 'attribute', removed: ['team'], added: [] });
  });

  it('refuses a second identity with identity_conflict unless the issuer links existing users', async () => {
    const { usercode, sub } = fresh();
    const first = await store.loginSync(login(sub, desired({ usercode })));
    const before = await snapshot(first.user.id);

    // Same usercode from another issuer, and from another sub of the same issuer.
    for (const attempt of [login('other', desired({ usercode: usercode.toUpperCase() }), PARTNER), login(`${sub}-2`, desired({ usercode }))]) {
      await expect(store.loginSync(attempt)).rejects.toMatchObject({ code: 'identity_conflict', status: 403 });
    }
    expect(await snapshot(first.user.id)).toEqual(before);

    const linked = await store.loginSync(login('other', desired({ usercode, roles: ['partner-role'] }), { ...PARTNER, linkExistingUsers: true }));
    expect(linked.created).toBe(false);
    expect(linked.changes.identityLinked).toBe(true);
    expect(linked.user.id).toBe(first.user.id);
    expect(linked.user.identities.map((i) => i.issuerId).sort()).toEqual(['corp', 'partner']);
    expect(linked.user.roles).toEqual([
      { name: 'analyst', source: 'mapping:corp' },
      { name: 'partner-role', source: 'mapping:partner' },
    ]);
    expect(await audits(first.user.id, 'identity_linked')).toBe(1);
    // Both identities now sign in as the same user.
    expect((await store.loginSync(login(sub, desired({ usercode })))).user.id).toBe(first.user.id);
  });

  it('lets the first login claim a user provisioned without identity, then binds it', async () => {
    const { usercode, sub } = fresh();
    const provisioned = await store.createUser({ usercode, profile: { email: 'p@x.io' }, source: 'scim', actor: 'scim-client' });
    expect(provisioned.identities).toEqual([]);
    const r = await store.loginSync(login(sub, desired({ usercode }), { createUsers: false }));
    expect(r).toMatchObject({ created: false, changes: { identityLinked: true } });
    expect(r.user.id).toBe(provisioned.id);
    expect(r.user.identities).toEqual([expect.objectContaining({ iss: CORP.iss, sub })]);
    const [ev] = (await db.knex('audit_events').where({ user_id: r.user.id, type: 'identity_linked' })) as { detail: unknown }[];
    expect(ev!.detail).toMatchObject({ claimed: true, issuer: 'corp', sub });
    await expect(store.loginSync(login(`${sub}-x`, desired({ usercode })))).rejects.toMatchObject({ code: 'identity_conflict' });
  });

  it('refuses an unknown user with user_not_provisioned when the issuer does not create users, writing nothing', async () => {
    const { usercode, sub } = fresh();
    const users = await count('users');
    const events = await count('audit_events');
    const claims = await count('login_claims');
    await expect(store.loginSync(login(sub, desired({ usercode }), { createUsers: false, claims: { sub } }))).rejects.toMatchObject({
      code: 'user_not_provisioned',
      status: 403,
    });
    expect(await count('users')).toBe(users);
    expect(await count('audit_events')).toBe(events);
    expect(await count('login_claims')).toBe(claims);
    expect(await store.getByUsercode(usercode)).toBeNull();
  });

  it.each(['SUSPENDED', 'DEPROVISIONED'] as const)('refuses a %s user with user_suspended and writes nothing', async (lifecycle) => {
    const { usercode, sub } = fresh();
    const first = await store.loginSync(login(sub, desired({ usercode })));
    expect(await store.setLifecycle(first.user.id, lifecycle, { actor: 'admin:ops', source: 'admin' })).toEqual({ changed: true });
    expect(changed).toEqual([first.user.id]);
    const before = await snapshot(first.user.id);
    now += 120_000;
    const err = await store.loginSync(login(sub, desired({ usercode, roles: ['admin'] }), { claims: { sub } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code: 'user_suspended', status: 403 });
    expect(await snapshot(first.user.id)).toEqual(before);
    expect(await count('login_claims', { user_id: first.user.id })).toBe(0);
    // Grants are kept for a reactivation, but grant nothing meanwhile.
    const state = await store.getAuthState(first.user.id);
    expect(state).toMatchObject({ lifecycle, roles: [], permissions: [], attributes: {} });
    const user = await store.getById(first.user.id);
    expect(user!.roles).toEqual([{ name: 'analyst', source: 'mapping:corp' }]);
    expect(user!.suspendedAt).not.toBeNull();

    await store.setLifecycle(first.user.id, 'ACTIVE');
    const back = await store.loginSync(login(sub, desired({ usercode })));
    expect(back.user).toMatchObject({ lifecycle: 'ACTIVE', suspendedAt: null, deprovisionedAt: null });
    expect((await store.getAuthState(first.user.id))!.roles).toEqual(['analyst']);
  });

  it('renames a bound user whose usercode changed at the IdP, unless the new one is taken', async () => {
    const a = fresh();
    const b = fresh();
    const first = await store.loginSync(login(a.sub, desired({ usercode: a.usercode })));
    await store.loginSync(login(b.sub, desired({ usercode: b.usercode })));

    now += 1000;
    const renamed = await store.loginSync(login(a.sub, desired({ usercode: `${a.usercode}-new` })));
    expect(renamed.user).toMatchObject({ id: first.user.id, usercode: `${a.usercode}-new`, version: 2 });
    expect(renamed.changes.renamedFrom).toBe(a.usercode);
    expect(changed).toEqual([first.user.id]);
    expect(await store.getByUsercode(a.usercode)).toBeNull();
    const [ev] = (await db.knex('audit_events').where({ user_id: first.user.id, type: 'profile_change' })) as { detail: unknown }[];
    expect(ev!.detail).toMatchObject({ fields: ['usercode'], before: { usercode: a.usercode }, after: { usercode: `${a.usercode}-new` } });

    await expect(store.loginSync(login(a.sub, desired({ usercode: b.usercode.toUpperCase() })))).rejects.toMatchObject({ code: 'identity_conflict' });
    expect((await store.getById(first.user.id))!.usercode).toBe(`${a.usercode}-new`);
  });

  it('refuses a login without a subject', async () => {
    await expect(store.loginSync(login('', desired({ usercode: 'nosub' })))).rejects.toMatchObject({ code: 'token_malformed' });
  });

  it('a sign-in is one statement: spent link, user sync, session and audit line; a replayed link writes nothing else', async () => {
    const { usercode, sub } = fresh();
    const statements: string[] = [];
    const onQuery = (q: { sql?: string }) => statements.push(String(q.sql));
    const extras = (key: string) => ({
      spend: { issuerId: 'corp', key, expiresAt: new Date(now + 600_000), once: true },
      denied: { purpose: 'sso', at: new Date(now) },
      session: {
        row: { idHash: `hash-${key}`, createdAt: new Date(now), lastSeenAt: new Date(now), idleExpiresAt: new Date(now + 3_600_000), absoluteExpiresAt: new Date(now + 7_200_000), data: {} },
        auditAt: new Date(now),
      },
    });
    db.knex.on('query', onQuery);
    try {
      const first = await store.signIn(login(sub, desired({ usercode }), { claims: { sub } }), extras(`${sub}-1`));
      now += 1000;
      const again = await store.signIn(login(sub, desired({ usercode }), { claims: { sub } }), extras(`${sub}-2`));
      expect(statements).toHaveLength(2);
      if ('refused' in first || 'refused' in again) throw new Error('refused');
      expect(first.created).toBe(true);
      expect(again).toMatchObject({ created: false, changed: false });
      expect(await count('sessions', { user_id: first.user.id })).toBe(2);
      const logins = (await db.knex('audit_events').where({ user_id: first.user.id, type: 'login' }).orderBy('id')) as { detail: unknown; usercode: string }[];
      expect(logins.map((l) => l.detail)).toEqual([
        { issuer: 'corp', created: true, changed: true },
        { issuer: 'corp', created: false, changed: false },
      ]);
      expect(await count('used_jtis', { issuer_id: 'corp', jti: `${sub}-2` })).toBe(1);

      const before = await snapshot(first.user.id);
      statements.length = 0;
      expect(await store.signIn(login(sub, desired({ usercode, roles: ['admin'] })), extras(`${sub}-2`))).toEqual({ refused: 'jti_replayed' });
      expect(statements).toHaveLength(1);
      expect(await snapshot(first.user.id)).toEqual(before);
      expect(await count('sessions', { user_id: first.user.id })).toBe(2);
    } finally {
      db.knex.off('query', onQuery);
    }
  });

  it('a refused sign-in spends its link and audits login_denied, writing nothing of the user', async () => {
    const { usercode, sub } = fresh();
    const first = await store.loginSync(login(sub, desired({ usercode })));
    await store.setLifecycle(first.user.id, 'SUSPENDED');
    const before = await snapshot(first.user.id);
    const answer = await store.signIn(login(sub, desired({ usercode })), {
      spend: { issuerId: 'corp', key: `${sub}-x`, expiresAt: new Date(now + 600_000), once: true },
      denied: { purpose: 'sso', at: new Date(now) },
    });
    expect(answer).toEqual({ refused: 'user_suspended' });
    expect(await snapshot(first.user.id)).toEqual(before);
    expect(await count('used_jtis', { issuer_id: 'corp', jti: `${sub}-x` })).toBe(1);
    const [denied] = (await db.knex('audit_events').where({ type: 'login_denied', usercode })) as { detail: unknown; user_id: string | null }[];
    expect(denied).toMatchObject({ user_id: null, detail: { issuer: 'corp', sub, code: 'user_suspended', purpose: 'sso' } });
  });

  it('getAuthState and getById answer null for an unknown user', async () => {
    expect(await store.getAuthState('01UNKNOWN')).toBeNull();
    expect(await store.getById('01UNKNOWN')).toBeNull();
  });
});
