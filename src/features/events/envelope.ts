import { badRequest } from './errors.js';

/**
 * The request body `{ "event": "<compact JWS>" }` (docs/provisioning.md#change-events). Everything travels inside
 * that token; no header or other member is trusted.
 */
export function parseEnvelope(raw: Buffer | string | undefined): string {
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : (raw ?? '');
  if (!text.trim()) throw badRequest('the body must be {"event": "<signed token>"}');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('the body is not JSON');
  }
  const event = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { event?: unknown }).event : undefined;
  if (typeof event !== 'string' || !event) throw badRequest('the body must be {"event": "<signed token>"}');
  // No size check of its own: provisioning.events.maxBodyBytes bounds the whole body (a full push is large).
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(event)) throw badRequest('the event is not a compact JWS');
  return event;
}
