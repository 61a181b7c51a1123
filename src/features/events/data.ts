import { badRequest } from './errors.js';
import { containsNul, hasControlCharacter } from '../../core/users/text-rules.js';

export const EVENT_PREFIX = 'urn:alibaba:idaas:app:event:';

/** One event of a push, its nested JSON strings parsed. */
export interface PushEvent {
  eventId: string;
  /** Without the `urn:alibaba:idaas:app:event:` prefix, e.g. `ud:user:create`. */
  type: string;
  /** The full URN as sent. */
  eventType: string;
  /** Milliseconds; 0 when absent. */
  eventTime: number;
  bizId: string | null;
  /** The parsed `bizData`, or the reason it could not be parsed. */
  bizData: Record<string, unknown> | { invalid: string };
}

/** JSON that may arrive as a JSON-encoded string (the documented form) or already as a value. */
function nested(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return JSON.parse(value);
}

/**
 * The data object (`plainData`, or the decrypted `cipherData`): `{ aliUid, instanceId, eventVersion, eventData }`
 * where `eventData` is a JSON string holding the array of events and each `bizData` a JSON string holding the
 * object. A push whose event list cannot be read is refused; an event whose `bizData` cannot be read is kept
 * (to be listed in failedEvents).
 */
export function parseEventData(data: unknown): { instanceId: string | null; events: PushEvent[] } {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw badRequest('the event data must be a JSON object');
  const d = data as Record<string, unknown>;
  let list: unknown;
  try {
    list = nested(d.eventData);
  } catch {
    throw badRequest('eventData is not valid JSON');
  }
  if (!Array.isArray(list)) throw badRequest('eventData must hold an array of events');
  const events = list.map((raw, i): PushEvent => {
    if (typeof raw !== 'object' || raw === null) throw badRequest(`eventData[${i}] is not an object`);
    const e = raw as Record<string, unknown>;
    if (typeof e.eventId !== 'string' || !e.eventId || e.eventId.length > 200) throw badRequest(`eventData[${i}].eventId is missing`);
    if (typeof e.eventType !== 'string' || !e.eventType) throw badRequest(`eventData[${i}].eventType is missing`);
    if (hasControlCharacter(e.eventId) || hasControlCharacter(e.eventType)) throw badRequest(`eventData[${i}] has a control character in eventId or eventType`);
    let bizData: PushEvent['bizData'];
    try {
      const b = e.bizData === undefined || e.bizData === null || e.bizData === '' ? {} : nested(e.bizData);
      bizData = typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as Record<string, unknown>) : { invalid: 'bizData is not an object' };
      // No column or JSON document can hold NUL: the event fails alone instead of the whole push.
      if (!('invalid' in bizData) && containsNul(bizData)) bizData = { invalid: 'bizData contains a NUL character' };
    } catch {
      bizData = { invalid: 'bizData is not valid JSON' };
    }
    const time = Number(e.eventTime);
    return {
      eventId: e.eventId,
      eventType: e.eventType,
      type: e.eventType.startsWith(EVENT_PREFIX) ? e.eventType.slice(EVENT_PREFIX.length) : e.eventType,
      eventTime: Number.isFinite(time) ? time : 0,
      bizId: typeof e.bizId === 'string' ? e.bizId : null,
      bizData,
    };
  });
  return { instanceId: typeof d.instanceId === 'string' ? d.instanceId : null, events };
}
