import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { SessionStore } from '../../src/store/sessions.js';
import { SessionCookie } from '../../src/core/sessions/cookie.js';
import { openTestDatabase, type TestDatabase } from '../helpers/db.js';

describe('session data at rest', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
    await db.knex('users').insert({ id: 'U1', usercode: 'ada' });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('IdP tokens are stored encrypted and read back in clear; another secret cannot open them', async () => {
    const store = new SessionStore(db.knex, { idleTimeoutSeconds: 60, absoluteTimeoutSeconds: 600, secrets: ['a'.repeat(40)] });
    const { id } = await store.create('U1', 'corp', { refreshToken: 'rt-secret-value', idTokenHint: 'eyJhbGciOi.id-token', sid: 'sid-1' });
    const raw = JSON.stringify(await db.knex('sessions').select('data'));
    expect(raw).not.toContain('rt-secret-value');
    expect(raw).not.toContain('id-token');
    expect(raw).toContain('sid-1'); // needed in SQL for back-channel logout by sid
    const hash = SessionCookie.hashId(id);
    expect((await store.getByHash(hash))!.data).toMatchObject({ refreshToken: 'rt-secret-value', idTokenHint: 'eyJhbGciOi.id-token' });
    await store.mergeData(hash, { refreshToken: 'rt-rotated' });
    expect((await store.getByHash(hash))!.data.refreshToken).toBe('rt-rotated');
    expect(JSON.stringify(await db.knex('sessions').select('data'))).not.toContain('rt-rotated');

    // Rotation: a store whose list still holds the old secret opens it; one without it drops the field.
    const rotated = new SessionStore(db.knex, { idleTimeoutSeconds: 60, absoluteTimeoutSeconds: 600, secrets: ['b'.repeat(40), 'a'.repeat(40)] });
    expect((await rotated.getByHash(hash))!.data.refreshToken).toBe('rt-rotated');
    const stranger = new SessionStore(db.knex, { idleTimeoutSeconds: 60, absoluteTimeoutSeconds: 600, secrets: ['c'.repeat(40)] });
    expect((await stranger.getByHash(hash))!.data.refreshToken).toBeUndefined();
  });
});
