import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Database } from '../../src/store/db/index.js';
import { UserStore } from '../../src/store/users/index.js';
import { describeIfPostgres, openTestDatabase } from '../helpers/db.js';
import { desired, login } from './fixtures.js';

describeIfPostgres('UserStore concurrency (PostgreSQL: many connections)', () => {
  let db: Database;
  let store: UserStore;
  beforeAll(async () => {
    db = await openTestDatabase({ poolMax: 10 });
    store = new UserStore(db);
  });
  afterAll(async () => {
    await db?.close();
  });

  const count = async (table: string, where: Record<string, unknown>) => {
    const [row] = (await db.knex(table).where(where).count({ n: '*' })) as { n: string | number }[];
    return Number(row!.n);
  };

  it('twenty simultaneous first logins of one new person create exactly one user, without error', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => store.loginSync(login('sub-race', desired({ usercode: 'racer' })))));
    const ids = new Set(results.map((r) => r.user.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const [id] = [...ids];
    expect(await count('users', {})).toBe(1);
    expect(await count('user_identities', { user_id: id })).toBe(1);
    expect(await count('user_grants', { user_id: id })).toBe(2);
    expect(await count('audit_events', { user_id: id, type: 'user_created' })).toBe(1);
    expect(await count('audit_events', { user_id: id, type: 'role_change' })).toBe(3);
  });

  it('simultaneous first logins of one usercode from two identities bind it to exactly one', async () => {
    const attempts = Array.from({ length: 10 }, (_, i) =>
      store.loginSync(login(`sub-${i % 2}`, desired({ usercode: 'contested' }))).then(
        (r) => ({ ok: true as const, sub: r.user.identities[0]!.sub }),
        (e: { code?: string }) => ({ ok: false as const, code: e.code }),
      ),
    );
    const outcomes = await Promise.all(attempts);
    const winners = new Set(outcomes.filter((o) => o.ok).map((o) => (o as { sub: string }).sub));
    expect(winners.size).toBe(1);
    for (const o of outcomes) if (!o.ok) expect(o.code).toBe('identity_conflict');
    const user = await store.getByUsercode('contested');
    expect(user!.identities).toHaveLength(1);
  });

  it('simultaneous logins with changing roles end in a consistent state', async () => {
    await store.loginSync(login('sub-flip', desired({ usercode: 'flipper', roles: ['a'] })));
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => store.loginSync(login('sub-flip', desired({ usercode: 'flipper', roles: [i % 2 ? 'a' : 'b', 'c'] })))),
    );
    const user = await store.getByUsercode('flipper');
    const names = user!.roles.map((r) => r.name);
    expect(names).toHaveLength(2);
    expect(names).toContain('c');
  });
});
