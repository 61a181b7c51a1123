import { describe, it, expect } from '@jest/globals';
import { decodeTime, isValid } from 'ulid';
import { ulid } from '../../src/core/ids.js';

describe('ids: ulid', () => {
  it('gives valid, distinct ULIDs carrying the time, with every symbol in every random position', () => {
    const before = Date.now();
    const ids = Array.from({ length: 4000 }, () => ulid());
    expect(ids.every((id) => isValid(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [ids[0]!, ids[ids.length - 1]!]) expect(decodeTime(id)).toBeGreaterThanOrEqual(before);
    expect(decodeTime(ulid(1_700_000_000_000))).toBe(1_700_000_000_000);
    // 4,000 draws per position over 32 symbols: a stuck or biased generator leaves symbols out.
    for (let pos = 10; pos < 26; pos++) expect(new Set(ids.map((id) => id[pos])).size).toBe(32);
  });
});
