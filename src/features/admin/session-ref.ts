import { createHash } from 'node:crypto';

/**
 * What the admin API calls one session by: a hash of its stored id hash. The stored hash itself stays inside the
 * database, and neither leads back to the cookie.
 */
export function sessionRef(idHash: string): string {
  return createHash('sha256').update(`session-ref:${idHash}`).digest('base64url').slice(0, 22);
}
