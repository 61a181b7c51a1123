import type { ProfileField, SyncMode } from '../../core/mapping/schema.js';
import type { DesiredUser } from '../../core/mapping/types.js';
import { isEmailAddress } from '../../core/mapping/values.js';
import { PROFILE_COLUMNS, PROFILE_FIELDS, profileValue, type UserRow } from './row.js';

type ProfileValue = string | string[] | null;

/** The profile fields to write, as column values, plus the audit view of them. */
export interface ProfilePlan {
  columns: Record<string, unknown>;
  fields: ProfileField[];
  before: Partial<Record<ProfileField, ProfileValue>>;
  after: Partial<Record<ProfileField, ProfileValue>>;
}

/** Coerces what a mapping produced into the stored shape; undefined when it is not storable. */
export function normalizeProfileValue(field: ProfileField, value: string | string[] | null | undefined): ProfileValue | undefined {
  // null is "nothing" here, never the string "null".
  if (value === undefined || value === null) return undefined;
  if (field === 'tags') return [...new Set((Array.isArray(value) ? value : [value]).map(String))];
  const s = Array.isArray(value) ? value[0] : value;
  if (s === undefined || s === null) return undefined;
  if (field === 'userType') {
    const t = String(s).toUpperCase();
    return t === 'PERSON' || t === 'SERVICE' ? t : undefined;
  }
  if (field === 'email' && !isEmailAddress(String(s))) return undefined;
  return String(s);
}

/** Column value for the driver: jsonb columns get JSON text (pg would send a JS array as a PG array). */
export function columnValue(field: ProfileField, value: ProfileValue): unknown {
  return field === 'tags' ? JSON.stringify(value ?? []) : value;
}

const same = (a: ProfileValue, b: ProfileValue) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Which profile fields a mapping writes. Per field sync mode (docs/mapping-language.md#sync-modes):
 * - `always` (default): set whenever the mapping yielded a value; a field that yielded nothing keeps its
 *   stored value;
 * - `onCreate`: only when the user is created;
 * - `never`: the mapping never writes it (another source, e.g. the profile job, owns it).
 * `current` is null for a user being created.
 */
export function planProfile(current: UserRow | null, desired: Pick<DesiredUser, 'profile' | 'sync'>): ProfilePlan {
  const plan: ProfilePlan = { columns: {}, fields: [], before: {}, after: {} };
  for (const field of PROFILE_FIELDS) {
    const mode: SyncMode = desired.sync[field] ?? 'always';
    if (mode === 'never' || (mode === 'onCreate' && current)) continue;
    const next = normalizeProfileValue(field, desired.profile[field]);
    if (next === undefined) continue;
    const prev = current ? profileValue(current, field) : null;
    if (current && same(prev, next)) continue;
    plan.columns[PROFILE_COLUMNS[field]] = columnValue(field, next);
    plan.fields.push(field);
    plan.before[field] = prev;
    plan.after[field] = next;
  }
  return plan;
}
