import { describe, expect, it } from '@jest/globals';
import { nextDailyAt, previousDailyAt, startOfDay } from '../../src/features/jobs/time-zone.js';

const at = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();

describe('local wall-clock schedules', () => {
  it('finds the next 02:00 in UTC and in a zone with daylight saving time', () => {
    expect(iso(nextDailyAt(at('2026-12-01T01:59:00Z'), '02:00', 'UTC'))).toBe('2026-12-01T02:00:00.000Z');
    expect(iso(nextDailyAt(at('2026-12-01T02:00:00Z'), '02:00', 'UTC'))).toBe('2026-12-02T02:00:00.000Z');
    // Paris is UTC+1 in winter and UTC+2 in summer.
    expect(iso(nextDailyAt(at('2026-12-01T12:00:00Z'), '02:00', 'Europe/Paris'))).toBe('2026-12-02T01:00:00.000Z');
    expect(iso(nextDailyAt(at('2026-07-01T12:00:00Z'), '02:00', 'Europe/Paris'))).toBe('2026-07-02T00:00:00.000Z');
    // 2026-03-29: clocks jump from 02:00 to 03:00 in Paris; the run still happens that night, once.
    const gapNight = nextDailyAt(at('2026-03-28T12:00:00Z'), '02:00', 'Europe/Paris');
    expect(gapNight).toBeGreaterThan(at('2026-03-28T23:00:00Z'));
    expect(gapNight).toBeLessThanOrEqual(at('2026-03-29T01:00:00Z'));
    expect(nextDailyAt(gapNight, '02:00', 'Europe/Paris')).toBe(at('2026-03-30T00:00:00Z'));
  });

  it('finds the latest due run and the local midnight', () => {
    expect(iso(previousDailyAt(at('2026-12-02T10:00:00Z'), '02:00', 'UTC'))).toBe('2026-12-02T02:00:00.000Z');
    expect(iso(previousDailyAt(at('2026-12-02T02:00:00Z'), '02:00', 'UTC'))).toBe('2026-12-02T02:00:00.000Z');
    expect(iso(previousDailyAt(at('2026-12-02T01:00:00Z'), '02:00', 'UTC'))).toBe('2026-12-01T02:00:00.000Z');
    expect(iso(startOfDay(at('2026-12-02T02:00:00Z'), 'UTC'))).toBe('2026-12-02T00:00:00.000Z');
    expect(iso(startOfDay(at('2026-12-02T02:00:00Z'), 'UTC', 2))).toBe('2026-11-30T00:00:00.000Z');
    expect(iso(startOfDay(at('2026-12-02T01:00:00Z'), 'Europe/Paris'))).toBe('2026-12-01T23:00:00.000Z');
  });
});
