import type { DesiredUser } from '../../core/mapping/types.js';
import type { ProfileField } from '../../core/mapping/schema.js';
import { normalizeProfileValue } from './profile.js';
import { PROFILE_FIELDS } from './row.js';
import type { UserRecord } from '../../core/users/types.js';
import { dict, own } from '../../core/own-keys.js';

type ProfileValue = string | string[] | null;

/** Names of one kind (roles or permissions) as one login of a mapping would change them. */
export interface NameDiff {
  /** Granted by this mapping's source now and after the login. */
  kept: string[];
  added: string[];
  removed: string[];
  /** Granted by other sources; a login never touches them. */
  otherSources: { name: string; source: string }[];
}

/**
 * What a login with these claims would do to the stored user, computed without writing anything. It follows
 * the same rules as the user sync: profile fields by sync mode, the mapping's own source replaced, other sources
 * left alone.
 */
export interface UserDiff {
  /** True when no user with this usercode exists: the login would create it. */
  create: boolean;
  profile: Partial<Record<ProfileField, { before: ProfileValue; after: ProfileValue }>>;
  roles: NameDiff;
  permissions: NameDiff;
  attributes: Record<string, { before: string[]; after: string[] }>;
  /** True when the login would change nothing the app sees. */
  unchanged: boolean;
}

/** Computes {@link UserDiff}. `source` is the mapping's grant source, `mapping:<issuer>`. */
export function diffLogin(current: UserRecord | null, desired: DesiredUser, source: string): UserDiff {
  const profile: UserDiff['profile'] = {};
  for (const field of PROFILE_FIELDS) {
    const mode = desired.sync[field] ?? 'always';
    if (mode === 'never' || (mode === 'onCreate' && current)) continue;
    const after = normalizeProfileValue(field, desired.profile[field]);
    if (after === undefined) continue;
    const before: ProfileValue = current ? ((current as unknown as Record<string, ProfileValue>)[field] ?? null) : null;
    if (JSON.stringify(before) !== JSON.stringify(after)) profile[field] = { before, after };
  }
  const roles = diffNames(current?.roles ?? [], desired.roles, source);
  const permissions = diffNames(current?.permissions ?? [], desired.permissions, source);

  const attributes: UserDiff['attributes'] = dict();
  const names = new Set([...Object.keys(desired.attributes), ...Object.keys(current?.attributes ?? {})]);
  for (const name of [...names].sort()) {
    const before = own(current?.attributes, name)?.find((a) => a.source === source)?.values ?? [];
    const after = own(desired.attributes, name) ?? [];
    if (!sameSet(before, after)) attributes[name] = { before: [...before].sort(), after: [...after].sort() };
  }
  const unchanged =
    !!current &&
    Object.keys(profile).length === 0 &&
    roles.added.length + roles.removed.length + permissions.added.length + permissions.removed.length === 0 &&
    Object.keys(attributes).length === 0;
  return { create: !current, profile, roles, permissions, attributes, unchanged };
}

function diffNames(current: { name: string; source: string }[], desired: string[], source: string): NameDiff {
  const before = new Set(current.filter((g) => g.source === source).map((g) => g.name));
  const after = new Set(desired);
  return {
    kept: [...after].filter((n) => before.has(n)).sort(),
    added: [...after].filter((n) => !before.has(n)).sort(),
    removed: [...before].filter((n) => !after.has(n)).sort(),
    otherSources: current.filter((g) => g.source !== source),
  };
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((v) => b.includes(v));

export { producedBy } from '../../core/mapping/produced-by.js';
