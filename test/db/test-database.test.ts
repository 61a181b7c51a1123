import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MIGRATIONS } from '../../src/store/db/index.js';
import { openTestDatabase, type TestDatabase } from '../helpers/db.js';
import { templateKey } from '../helpers/pglite-template.js';

const kind = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

describe(`openTestDatabase (${kind})`, () => {
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    [a, b] = await Promise.all([openTestDatabase(), openTestDatabase()]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('gives a database with every migration applied', async () => {
    expect(await a.knex('knex_migrations').orderBy('id').pluck('name')).toEqual([...MIGRATIONS]);
    expect(await b.knex('knex_migrations').orderBy('id').pluck('name')).toEqual([...MIGRATIONS]);
  });

  it('gives databases that do not share rows (copies of the template, not the template)', async () => {
    await a.knex('users').insert({ id: 'u-a', usercode: 'only-in-a' });
    expect(await a.knex('users').where({ usercode: 'only-in-a' }).pluck('usercode')).toEqual(['only-in-a']);
    expect(await b.knex('users').where({ usercode: 'only-in-a' }).pluck('usercode')).toEqual([]);
    const c = await openTestDatabase();
    try {
      expect(await c.knex('users').pluck('usercode')).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('leaves the database empty with migrate: false', async () => {
    const empty = await openTestDatabase({ migrate: false });
    try {
      const r = (await empty.knex.raw(
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema()`,
      )) as { rows: { n: number }[] };
      expect(r.rows[0].n).toBe(0);
    } finally {
      await empty.close();
    }
  });
});

describe('PGlite template key', () => {
  const content = (text: string) => () => new TextEncoder().encode(text);

  it('changes with a migration added to the list or a migration file edited, and only then', () => {
    const base = templateKey(['1_init.js'], content('up 1'));
    expect(templateKey(['1_init.js'], content('up 1'))).toBe(base);
    expect(templateKey(['1_init.js', '2_more.js'], content('up 1'))).not.toBe(base);
    expect(templateKey(['1_init.js'], content('up 1;'))).not.toBe(base);
    expect(templateKey(['1_init.jsup', ''], (n) => new TextEncoder().encode(n === '' ? ' 1' : ''))).not.toBe(base);
  });

  it('covers the real migration files', () => {
    expect(templateKey()).toMatch(/^[0-9a-f]{24}$/);
    expect(templateKey()).toBe(templateKey(MIGRATIONS));
  });
});
