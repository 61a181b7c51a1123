import { describe, it, expect } from '@jest/globals';
import { InvalidationBus } from '../../src/core/cache/invalidation.js';
import { InvalidatedCache } from '../../src/core/cache/invalidated-cache.js';

describe('InvalidatedCache', () => {
  const setup = async () => {
    const bus = new InvalidationBus(null);
    await bus.start();
    let clock = 0;
    const stored = new Map([['u1', 'v1']]);
    let loads = 0;
    const cache = new InvalidatedCache<string>(bus, 'user', async (k) => (loads++, stored.get(k) ?? null), { maxAgeMs: 1000, now: () => clock });
    return { bus, cache, stored, tick: (ms: number) => (clock += ms), loads: () => loads };
  };

  it('serves from memory until the bus says the key changed', async () => {
    const { bus, cache, stored, loads } = await setup();
    expect(await cache.get('u1')).toBe('v1');
    expect(await cache.get('u1')).toBe('v1');
    expect(loads()).toBe(1);
    stored.set('u1', 'v2');
    await bus.publish({ kind: 'user', id: 'u1' });
    expect(await cache.get('u1')).toBe('v2');
  });

  it('never serves an entry older than maxAgeMs (a lost NOTIFY heals by itself)', async () => {
    const { cache, stored, tick } = await setup();
    expect(await cache.get('u1')).toBe('v1');
    stored.set('u1', 'v2'); // changed elsewhere, no message
    tick(999);
    expect(await cache.get('u1')).toBe('v1');
    tick(1);
    expect(await cache.get('u1')).toBe('v2');
  });

  it('a load that started before an invalidation is not joined by later callers', async () => {
    const bus = new InvalidationBus(null);
    await bus.start();
    let release!: (v: string) => void;
    let calls = 0;
    const cache = new InvalidatedCache<string>(bus, 'user', (_k) => {
      calls++;
      return calls === 1 ? new Promise((r) => (release = r)) : Promise.resolve('fresh');
    });
    const first = cache.get('u1');
    await bus.publish({ kind: 'user', id: 'u1' });
    const second = cache.get('u1');
    release('stale');
    expect(await first).toBe('stale');
    expect(await second).toBe('fresh');
    expect(await cache.get('u1')).toBe('fresh');
  });
});
