import { randomUUID } from 'node:crypto';
import { CompactEncrypt } from 'jose';
import { signToken, unsignedToken, type KeyPair } from '../../helpers/tokens.js';

export const ISSUER = 'urn:alibaba:idaas:app:event';
export const APP_ID = 'app_12131313';
export const PREFIX = 'urn:alibaba:idaas:app:event:';

export interface TestEvent {
  eventId?: string;
  type: string;
  eventTime: number;
  bizData: Record<string, unknown>;
}

/** The data object of the format: `eventData` and each `bizData` as JSON-encoded strings. */
export function eventData(events: TestEvent[]) {
  return {
    aliUid: 1234567890,
    instanceId: 'idaas-test-instance',
    eventVersion: 'V1.1',
    eventData: JSON.stringify(
      events.map((e) => ({
        eventId: e.eventId ?? randomUUID(),
        eventType: `${PREFIX}${e.type}`,
        eventTime: e.eventTime,
        bizId: 'biz',
        bizData: JSON.stringify(e.bizData),
      })),
    ),
  };
}

export interface PushOptions {
  key: KeyPair;
  /** 16/24/32 bytes: encrypt with dir + A128/A192/A256GCM; absent: plainData. */
  encryptWith?: Uint8Array;
  enc?: string;
  aud?: string;
  iss?: string;
  /** Seconds; default now. */
  now?: number;
  ttl?: number;
  jti?: string;
  unsigned?: boolean;
}

/** A push body `{ "event": "<JWS>" }`, signed (and encrypted) like the identity service's SDK does. */
export async function pushBody(events: TestEvent[], opts: PushOptions): Promise<string> {
  const data = eventData(events);
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { iss: opts.iss ?? ISSUER, aud: opts.aud ?? APP_ID, jti: opts.jti ?? randomUUID() };
  if (opts.encryptWith) {
    const enc = opts.enc ?? { 16: 'A128GCM', 24: 'A192GCM', 32: 'A256GCM' }[opts.encryptWith.length]!;
    payload.dataEncrypted = true;
    payload.cipherData = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(data)))
      .setProtectedHeader({ alg: 'dir', enc })
      .encrypt(opts.encryptWith);
  } else {
    payload.dataEncrypted = false;
    payload.plainData = data;
  }
  const event = opts.unsigned
    ? unsignedToken(payload, now)
    : await signToken(payload, { key: opts.key, now, ttl: opts.ttl ?? 300, typ: 'JWT', noSub: true });
  return JSON.stringify({ event });
}
