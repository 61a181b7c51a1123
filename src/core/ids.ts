import { randomFillSync } from 'node:crypto';
import { ulid as ulidFrom } from 'ulid';

/**
 * Random bytes drawn ahead from the system's CSPRNG, 4 KiB at a time (as Node's randomUUID does): the ulid package's
 * own generator asks Web Crypto for one byte per character, which cost more than the rest of a sign-in's ids.
 */
const pool = Buffer.alloc(4096);
let next = pool.length;

function pooledRandom(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  // A byte / 256 is in [0, 1); ulid takes 5 bits of it per character (80 random bits per id).
  return pool[next++]! / 256;
}

/** A new ULID: 48 bits of time (`seedTime`, else now) then 80 random bits. */
export function ulid(seedTime?: number): string {
  return ulidFrom(seedTime, pooledRandom);
}
