import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseConfigObject } from '../../src/core/config/load.js';
import { purgeRequestLogs, retentionOf } from '../../src/observability/request-log.js';
import { maskClientIp, obfuscateClientId } from '../../src/observability/log-masking.js';
import { openTestDatabase, type TestDatabase } from '../helpers/db.js';

describe(`request-log retention per kind, client addresses (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  const base = { publicUrl: 'http://gw.test', session: { secret: 's'.repeat(40) }, upstream: { url: 'http://127.0.0.1:1' } };

  it('logs.retentionDays sets each kind; requestRetentionDays stays the default of the others', async () => {
    const cfg = parseConfigObject({ ...base, logs: { requestRetentionDays: 10, retentionDays: { payload: 2, exception: 90 } } }, {});
    expect(retentionOf(cfg.logs)).toEqual({ request: 10, payload: 2, exception: 90 });
    expect(retentionOf(parseConfigObject(base, {}).logs)).toEqual({ request: 30, payload: 30, exception: 30 });
    const now = Date.now();
    const day = 86_400_000;
    const row = (kind: string, ageDays: number, id: string) => ({ at: new Date(now - ageDays * day), kind, request_id: id, method: 'GET', path: '/x' });
    await db.knex('request_logs').insert([row('request', 5, 'r5'), row('request', 11, 'r11'), row('payload', 3, 'p3'), row('payload', 1, 'p1'), row('exception', 60, 'e60'), row('exception', 91, 'e91')]);
    expect(await purgeRequestLogs(db.knex, retentionOf(cfg.logs), now, true)).toBe(3);
    expect(await purgeRequestLogs(db.knex, retentionOf(cfg.logs), now)).toBe(3);
    const left = ((await db.knex('request_logs').select('request_id')) as { request_id: string }[]).map((r) => r.request_id).sort();
    expect(left).toEqual(['e60', 'p1', 'r5']);
  });

  it('logs.clientIp: full, truncated (IPv4 /24, IPv6 /48) or none; client ids as a stable hash prefix', () => {
    expect(maskClientIp('203.0.113.77', 'full')).toBe('203.0.113.77');
    expect(maskClientIp('203.0.113.77', 'truncated')).toBe('203.0.113.0');
    expect(maskClientIp('::ffff:203.0.113.77', 'truncated')).toBe('203.0.113.0');
    expect(maskClientIp('2001:db8:85a3:8d3:1319:8a2e:370:7348', 'truncated')).toBe('2001:db8:85a3::');
    expect(maskClientIp('2001:db8::1', 'truncated')).toBe('2001:db8:0::');
    expect(maskClientIp('203.0.113.77', 'none')).toBeNull();
    expect(obfuscateClientId('abc')).toBe(obfuscateClientId('abc'));
    expect(obfuscateClientId('abc')).toMatch(/^client:[0-9a-f]{12}$/);
    expect(obfuscateClientId('abc')).not.toBe(obfuscateClientId('abd'));
    expect(parseConfigObject(base, {}).logs.clientIp).toBe('truncated');
  });
});
