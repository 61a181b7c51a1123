import type { Knex } from 'knex';
import type { FullUserRow } from './row.js';
import { parseJson } from './row.js';
import type { Lifecycle, UserAuthState } from '../../core/users/types.js';

type Q = Knex | Knex.Transaction;

/** A user with grants, attributes and identities in one round trip (correlated JSON sub-selects). */
const FULL_USER = `u.*,
  (SELECT coalesce(json_agg(json_build_object('kind', g.kind, 'name', g.name, 'source', g.source)), '[]'::json)
     FROM user_grants g WHERE g.user_id = u.id) AS grants,
  (SELECT coalesce(json_agg(json_build_object('name', a.name, 'source', a.source, 'values', a.values)), '[]'::json)
     FROM user_attributes a WHERE a.user_id = u.id) AS attrs,
  (SELECT coalesce(json_agg(json_build_object('issuer_id', i.issuer_id, 'iss', i.iss, 'sub', i.sub, 'created_at', i.created_at)), '[]'::json)
     FROM user_identities i WHERE i.user_id = u.id) AS identities`;

export async function selectFullUserById(q: Q, id: string): Promise<FullUserRow | undefined> {
  return (await q('users as u').select(q.raw(FULL_USER)).where('u.id', id).first()) as FullUserRow | undefined;
}

/** Several users in one query (the admin API's list pages), in no particular order. */
export async function selectFullUsersByIds(q: Q, ids: readonly string[]): Promise<FullUserRow[]> {
  if (ids.length === 0) return [];
  return (await q('users as u').select(q.raw(FULL_USER)).whereIn('u.id', ids)) as FullUserRow[];
}

export async function selectFullUserByUsercode(q: Q, usercode: string): Promise<FullUserRow | undefined> {
  return (await q('users as u')
    .select(q.raw(FULL_USER))
    .whereRaw('lower(u.usercode) = lower(?)', [usercode])
    .first()) as FullUserRow | undefined;
}

const AUTH_STATE = `u.id, u.usercode, u.lifecycle, u.version, u.email, u.display_name,
  (SELECT coalesce(json_agg(json_build_array(g.kind, g.name)), '[]'::json)
     FROM user_grants g WHERE g.user_id = u.id) AS grants,
  (SELECT coalesce(json_agg(json_build_array(a.name, a.values)), '[]'::json)
     FROM user_attributes a WHERE a.user_id = u.id) AS attrs`;

interface AuthRow {
  id: string;
  usercode: string;
  lifecycle: Lifecycle;
  version: string | number;
  email: string | null;
  display_name: string | null;
  grants: [string, string][] | string;
  attrs: [string, string[]][] | string;
}

const sortedUnique = (values: Iterable<string>) => [...new Set(values)].sort();

/** The authorisation state of a user in one query, or null when there is no such user. */
export async function selectAuthState(q: Q, userId: string): Promise<UserAuthState | null> {
  const row = (await q('users as u').select(q.raw(AUTH_STATE)).where('u.id', userId).first()) as AuthRow | undefined;
  if (!row) return null;
  const active = row.lifecycle === 'ACTIVE';
  const roles: string[] = [];
  const permissions: string[] = [];
  const attrs = new Map<string, string[]>();
  if (active) {
    for (const [kind, name] of parseJson(row.grants, [])) (kind === 'role' ? roles : permissions).push(name);
    for (const [name, values] of parseJson(row.attrs, [])) attrs.set(name, [...(attrs.get(name) ?? []), ...values]);
  }
  return {
    userId: row.id,
    usercode: row.usercode,
    lifecycle: row.lifecycle,
    version: Number(row.version),
    email: row.email,
    displayName: row.display_name,
    roles: sortedUnique(roles),
    permissions: sortedUnique(permissions),
    attributes: Object.fromEntries([...attrs].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sortedUnique(v)])),
  };
}
