import type { ProfileField } from '../../core/mapping/schema.js';
import { EXPIRATION_ATTRIBUTE, LIFECYCLES, type Lifecycle, type SourceGrants } from '../../core/users/types.js';
import { PROFILE_FIELDS } from '../../store/users/row.js';
import { dict } from '../../core/own-keys.js';

/**
 * One item of a sync request, validated: the field names of docs/user-record.md in camelCase, or the analytics vendor's envelope
 * (docs/provisioning.md#sync-api). Every problem is reported with the field it concerns; nothing is written for an
 * item with problems.
 */
export interface SyncError {
  field: string;
  code: string;
  message: string;
}

export interface SyncUser {
  usercode: string;
  profile: Partial<Record<ProfileField, string | string[] | null>>;
  lifecycle?: Lifecycle;
  /** What source `api` grants; a kind left out stays as it is. */
  grants: SourceGrants;
  /** Where the roles came from in the request (`roles`, or the vendor's `userRoles`), for error messages. */
  rolesField: string;
  /** A display name for a user that has none (the vendor's `readableUserCode`). */
  displayNameFallback?: string;
}


export type Parsed = { ok: true; user: SyncUser } | { ok: false; usercode: string | null; errors: SyncError[] };

/** Every profile field but the two that are not plain strings. */
const STRING_FIELDS = PROFILE_FIELDS.filter((f) => f !== 'userType' && f !== 'tags');
const KNOWN = new Set<string>(['usercode', ...STRING_FIELDS, 'userType', 'tags', 'roles', 'permissions', 'attributes', 'lifecycle']);
const MAX_STRING = 1024;
const MAX_LIST = 1000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True for an item of the vendor's envelope: `{ user: { usercode… }, userRoles, … }`. */
export const isVendorItem = (v: unknown): boolean => isObject(v) && isObject(v.user) && !('usercode' in v);

/** Validates one item: a user object of claimgate's own shape, or a vendor envelope item. */
export function parseSyncUser(item: unknown): Parsed {
  if (isVendorItem(item)) return parseVendorItem(item as Record<string, unknown>);
  const errors: SyncError[] = [];
  const err = (field: string, code: string, message: string) => errors.push({ field, code, message });
  if (!isObject(item)) return { ok: false, usercode: null, errors: [{ field: '', code: 'invalid_type', message: 'Each user must be a JSON object.' }] };

  for (const k of Object.keys(item)) if (!KNOWN.has(k)) err(k, 'unknown_field', `"${k}" is not a user field.`);
  const usercode = item.usercode;
  if (typeof usercode !== 'string' || usercode.trim() === '') err('usercode', 'required', 'usercode is required (a non-empty string).');
  else if (usercode.length > 256) err('usercode', 'too_long', 'usercode is at most 256 characters.');

  const profile: SyncUser['profile'] = {};
  for (const f of STRING_FIELDS) {
    const v = item[f];
    if (v === undefined) continue;
    if (v !== null && typeof v !== 'string') err(f, 'invalid_type', `${f} must be a string or null.`);
    else if (typeof v === 'string' && v.length > MAX_STRING) err(f, 'too_long', `${f} is at most ${MAX_STRING} characters.`);
    else profile[f] = v === '' ? null : v;
  }
  if (item.userType !== undefined) {
    if (item.userType !== 'PERSON' && item.userType !== 'SERVICE') err('userType', 'invalid_value', 'userType is PERSON or SERVICE.');
    else profile.userType = item.userType;
  }
  if (item.tags !== undefined) {
    const tags = stringList(item.tags, 'tags', err);
    if (tags) profile.tags = tags;
  }
  let lifecycle: Lifecycle | undefined;
  if (item.lifecycle !== undefined) {
    if (!LIFECYCLES.includes(item.lifecycle as Lifecycle)) err('lifecycle', 'invalid_value', `lifecycle is one of ${LIFECYCLES.join(', ')}.`);
    else lifecycle = item.lifecycle as Lifecycle;
  }
  const grants: SourceGrants = {};
  for (const kind of ['roles', 'permissions'] as const) {
    if (item[kind] === undefined) continue;
    const names = stringList(item[kind], kind, err);
    if (names) grants[kind] = names;
  }
  if (item.attributes !== undefined) {
    if (!isObject(item.attributes)) err('attributes', 'invalid_type', 'attributes must be an object of string lists.');
    else {
      const attrs = dict<string[]>();
      for (const [name, v] of Object.entries(item.attributes)) {
        const values = typeof v === 'string' ? [v] : stringList(v, `attributes.${name}`, err);
        if (values) attrs[name] = values;
      }
      grants.attributes = attrs;
    }
  }
  if (errors.length) return { ok: false, usercode: typeof usercode === 'string' ? usercode : null, errors };
  return { ok: true, user: { usercode: usercode as string, profile, ...(lifecycle ? { lifecycle } : {}), grants, rolesField: 'roles' } };
}

function stringList(v: unknown, field: string, err: (field: string, code: string, message: string) => void): string[] | null {
  if (!Array.isArray(v)) {
    err(field, 'invalid_type', `${field} must be a list of strings.`);
    return null;
  }
  if (v.length > MAX_LIST) {
    err(field, 'too_many', `${field} has at most ${MAX_LIST} entries.`);
    return null;
  }
  let ok = true;
  v.forEach((x, i) => {
    if (typeof x !== 'string' || x === '' || x.length > MAX_STRING) {
      err(`${field}[${i}]`, 'invalid_type', `${field}[${i}] must be a non-empty string.`);
      ok = false;
    }
  });
  return ok ? [...new Set(v as string[])] : null;
}

/** An item of a vendor list as a name: a string, an object's `name`, or else the object's JSON text. */
function vendorNames(v: unknown, field: string, errors: SyncError[]): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    errors.push({ field, code: 'invalid_type', message: `${field} must be a list.` });
    return [];
  }
  const out: string[] = [];
  for (const x of v) {
    if (typeof x === 'string') out.push(x);
    else if (typeof x === 'number' || typeof x === 'boolean') out.push(String(x));
    else if (isObject(x) && typeof x.name === 'string' && x.name !== '') out.push(x.name);
    else if (x !== null) out.push(JSON.stringify(x));
  }
  return [...new Set(out)];
}

/**
 * The vendor's envelope item: `user.usercode` → usercode, `forenames`/`surname`/`email` → profile, `userRoles` →
 * roles, `userCategories`/`restrictions`/`variables` → attributes of those names, `user` flags that are `true` →
 * permissions. Replace semantics (the vendor's own): every kind is given, so what the payload leaves out is removed.
 */
function parseVendorItem(item: Record<string, unknown>): Parsed {
  const user = item.user as Record<string, unknown>;
  const errors: SyncError[] = [];
  const usercode = user.usercode;
  if (typeof usercode !== 'string' || usercode.trim() === '') {
    errors.push({ field: 'user.usercode', code: 'required', message: 'user.usercode is required (a non-empty string).' });
  } else if (usercode.length > 256) errors.push({ field: 'user.usercode', code: 'too_long', message: 'usercode is at most 256 characters.' });
  const profile: SyncUser['profile'] = {};
  for (const [from, to] of [
    ['forenames', 'firstName'],
    ['surname', 'lastName'],
    ['email', 'email'],
  ] as const) {
    const v = user[from];
    if (v === undefined) continue;
    if (v !== null && typeof v !== 'string') errors.push({ field: `user.${from}`, code: 'invalid_type', message: `user.${from} must be a string.` });
    else profile[to] = v === '' ? null : v;
  }
  const attributes = dict<string[]>();
  for (const [from, to] of [
    ['userCategories', 'categories'],
    ['restrictions', 'restrictions'],
    ['variables', 'variables'],
  ] as const) {
    const names = vendorNames(item[from], from, errors);
    if (names.length) attributes[to] = names;
  }
  const org = user.orgIdentifier;
  if (typeof org === 'string' && org.trim() !== '') attributes.orgIdentifier = [org.trim()];
  else if (org !== undefined && org !== null && org !== '') errors.push({ field: 'user.orgIdentifier', code: 'invalid_type', message: 'user.orgIdentifier must be a string.' });
  const expires = user.userExpirationDate;
  if (expires !== undefined && expires !== null && expires !== '') {
    const t = typeof expires === 'number' ? expires : typeof expires === 'string' ? Date.parse(expires) : Number.NaN;
    if (!Number.isFinite(t)) {
      errors.push({ field: 'user.userExpirationDate', code: 'invalid_value', message: 'user.userExpirationDate must be a date (ISO 8601) or null.' });
    } else attributes[EXPIRATION_ATTRIBUTE] = [new Date(t).toISOString()];
  }
  const readable = typeof user.readableUserCode === 'string' && user.readableUserCode.trim() !== '' ? user.readableUserCode.trim() : undefined;
  const roles = vendorNames(item.userRoles, 'userRoles', errors);
  // The envelope's flags: booleans that are true. Fields describing the user (readableUserCode…) are not flags.
  const permissions = Object.entries(user)
    .filter(([, v]) => v === true)
    .map(([k]) => k)
    .sort();
  if (errors.length) return { ok: false, usercode: typeof usercode === 'string' ? usercode : null, errors };
  return {
    ok: true,
    user: {
      usercode: usercode as string,
      profile,
      grants: { roles, permissions, attributes },
      rolesField: 'userRoles',
      ...(readable ? { displayNameFallback: readable } : {}),
    },
  };
}
