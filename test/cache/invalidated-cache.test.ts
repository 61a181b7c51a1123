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

  it('keeps at most maxEntries: entries past their age go first, then the oldest loads', async () => {
    const bus = new InvalidationBus(null);
    await bus.start();
    let clock = 0;
    const loaded: string[] = [];
    const cache = new InvalidatedCache<string>(bus, 'session', async (k) => (loaded.push(k), `v-${k}`), { maxEntries: 10, maxAgeMs: 1000, now: () => clock });
    for (let i = 0; i < 5; i++) await cache.get(`old${i}`);
    clock += 1000; // the first five are past their age
    for (let i = 0; i < 8; i++) await cache.get(`k${i}`);
    expect(cache.size).toBeLessThanOrEqual(10);
    loaded.length = 0;
    for (let i = 0; i < 8; i++) expect(await cache.get(`k${i}`)).toBe(`v-k${i}`);
    expect(loaded).toEqual([]); // the fresh entries survived; the expired ones made room
    for (let i = 0; i < 100; i++) await cache.get(`n${i}`);
    expect(cache.size).toBeLessThanOrEqual(10);
    loaded.length = 0;
    await cache.get('n99');
    expect(loaded).toEqual([]); // the newest load is kept
    await cache.get('k0');
    expect(loaded).toEqual(['k0']); // an old one was evicted
  });

  it('an entry dropped by its own key no longer follows its former owner', async () => {
    const bus = new InvalidationBus(null);
    await bus.start();
    const owners = new Map([['s1', 'userA']]);
    let loads = 0;
    const cache = new InvalidatedCache<{ userId: string }>(bus, 'session', async (k) => (loads++, { userId: owners.get(k)! }), {
      owner: { kind: 'user', of: (s) => s.userId },
    });
    await cache.get('s1');
    await bus.publish({ kind: 'session', id: 's1' });
    owners.set('s1', 'userB');
    expect(await cache.get('s1')).toEqual({ userId: 'userB' });
    await bus.publish({ kind: 'user', id: 'userA' }); // not the owner any more
    expect(await cache.get('s1')).toEqual({ userId: 'userB' });
    expect(loads).toBe(2);
    await bus.publish({ kind: 'user', id: 'userB' });
    await cache.get('s1');
    expect(loads).toBe(3);
  });
});

describe('InvalidationBus', () => {
  it('sends one message at once, and those published while it is in flight together next, each promise settling with its send', async () => {
    const sends: string[][] = [];
    let release!: () => void;
    const firstSend = new Promise<void>((r) => (release = r));
    const bus = new InvalidationBus({
      publish: async (payloads) => {
        sends.push([...payloads]);
        if (sends.length === 1) await firstSend;
      },
      subscribe: async (_m, onState) => (onState(true), async () => undefined),
    });
    await bus.start();
    const seen: string[] = [];
    bus.on((m) => seen.push(m.kind === 'all' ? 'all' : `${m.kind}:${m.id}`));
    const settled: string[] = [];
    const first = bus.publish({ kind: 'token', id: 't1' }).then(() => settled.push('t1'));
    const rest = ['t2', 't3', 't4'].map((id) => bus.publish({ kind: 'token', id }).then(() => settled.push(id)));
    // Applied here at once, whatever the transport does.
    expect(seen).toEqual(['token:t1', 'token:t2', 'token:t3', 'token:t4']);
    await new Promise((r) => setImmediate(r));
    expect(sends).toEqual([['token:t1']]);
    expect(settled).toEqual([]);
    release();
    await Promise.all([first, ...rest]);
    expect(sends).toEqual([['token:t1'], ['token:t2', 'token:t3', 'token:t4']]);
    expect(settled).toEqual(['t1', 't2', 't3', 't4']);
  });

  it('retries a failed send, then gives up without holding later messages back', async () => {
    let calls = 0;
    const sends: string[][] = [];
    const bus = new InvalidationBus({
      publish: async (payloads) => {
        calls++;
        if (payloads.includes('user:bad')) throw new Error('down');
        sends.push([...payloads]);
      },
      subscribe: async (_m, onState) => (onState(true), async () => undefined),
    });
    await bus.start();
    await bus.publish({ kind: 'user', id: 'bad' });
    expect(calls).toBe(3);
    await bus.publish({ kind: 'user', id: 'ok' });
    expect(sends).toEqual([['user:ok']]);
  });
});
