import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../core/errors/errors.js';

/** The key derived from one `session.secret` for CSRF tokens: the first secret signs, all verify (the list rotates). */
const keyOf = (secret: string): Buffer => Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), 'claimgate console csrf', 32));

const mac = (key: Buffer, sessionIdHash: string) => createHmac('sha256', key).update(sessionIdHash).digest();

/**
 * The CSRF token of a session: an HMAC of the session's stored id hash. It needs no storage, changes with every
 * sign-in (a new session id each time) and is useless with any other session.
 */
export function csrfTokenFor(secrets: readonly string[], sessionIdHash: string): string {
  return mac(keyOf(secrets[0]!), sessionIdHash).toString('base64url');
}

function tokenMatches(secrets: readonly string[], sessionIdHash: string, given: string): boolean {
  if (!/^[A-Za-z0-9_-]{43}$/.test(given)) return false;
  const buf = Buffer.from(given, 'base64url');
  return secrets.some((s) => timingSafeEqual(buf, mac(keyOf(s), sessionIdHash)));
}

const failed = (why: string) => new GatewayError('csrf_failed', 403, `This change was refused: ${why}.`);

/**
 * A change made with a session cookie must come from the console: the browser says the request comes from the
 * gateway's own origin, and the page proves it read `/me` (which a cross-site page cannot) by echoing the token.
 */
export function checkCsrf(req: IncomingMessage, opts: { publicUrl: string; secrets: readonly string[]; sessionIdHash: string }): void {
  const own = new URL(opts.publicUrl).origin;
  const origin = typeof req.headers.origin === 'string' ? req.headers.origin : refererOrigin(req.headers.referer);
  if (origin !== own) throw failed('it did not come from the console');
  const token = req.headers['x-csrf-token'];
  if (typeof token !== 'string' || !tokenMatches(opts.secrets, opts.sessionIdHash, token)) {
    throw failed('the X-CSRF-Token header is missing or does not belong to this session');
  }
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}
