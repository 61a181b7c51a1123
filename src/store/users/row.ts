import type { ProfileField } from '../../core/mapping/schema.js';
import type { AttributeGrant, Grant, Lifecycle, UserIdentity, UserRecord, UserStatusEntry, UserType } from '../../core/users/types.js';
import { dict } from '../../core/own-keys.js';

/** Profile field (camelCase, as mappings name them) -> users column. */
export const PROFILE_COLUMNS: Record<ProfileField, string> = {
  email: 'email',
  displayName: 'display_name',
  firstName: 'first_name',
  lastName: 'last_name',
  idpSource: 'idp_source',
  idpReferenceId: 'idp_reference_id',
  idpUsername: 'idp_username',
  idpWorkforceId: 'idp_workforce_id',
  idpCloudUsername: 'idp_cloud_username',
  userType: 'user_type',
  tags: 'tags',
};

export const PROFILE_FIELDS = Object.keys(PROFILE_COLUMNS) as ProfileField[];

type Time = Date | string;
type Json<T> = T | string;

/** A users row as the drivers return it (pg: bigint as string, jsonb parsed; PGlite: bigint as number). */
export interface UserRow {
  id: string;
  usercode: string;
  lifecycle: Lifecycle;
  status: Json<UserStatusEntry[]> | null;
  idp_source: string | null;
  idp_reference_id: string | null;
  idp_username: string | null;
  idp_workforce_id: string | null;
  idp_cloud_username: string | null;
  display_name: string | null;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  user_type: UserType;
  tags: Json<string[]> | null;
  version: string | number;
  suspended_at: Time | null;
  deprovisioned_at: Time | null;
  created_at: Time;
  updated_at: Time;
  last_login_at: Time | null;
  last_activity_at?: Time | null;
}

/** A users row with its grants, attributes and identities aggregated as JSON (see queries.ts). */
export interface FullUserRow extends UserRow {
  grants: Json<{ kind: 'role' | 'permission'; name: string; source: string }[]> | null;
  attrs: Json<{ name: string; source: string; values: string[] }[]> | null;
  identities: Json<{ issuer_id: string; iss: string; sub: string; created_at: string }[]> | null;
}

export const parseJson = <T>(v: Json<T> | null | undefined, fallback: T): T =>
  v === null || v === undefined ? fallback : typeof v === 'string' ? (JSON.parse(v) as T) : v;

export const toIso = (v: Time): string => (v instanceof Date ? v : new Date(v)).toISOString();
const toIsoOrNull = (v: Time | null): string | null => (v === null ? null : toIso(v));

const byNameThenSource = (a: Grant, b: Grant) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.source < b.source ? -1 : a.source > b.source ? 1 : 0;

/** The stored value of a profile field, in the shape a mapping produces (tags: string[], others string|null). */
export function profileValue(row: UserRow, field: ProfileField): string | string[] | null {
  if (field === 'tags') return parseJson(row.tags, []);
  return (row as unknown as Record<string, string | null>)[PROFILE_COLUMNS[field]] ?? null;
}

/** Converts an aggregated row into the record the rest of the gateway uses. */
export function rowToRecord(row: FullUserRow): UserRecord {
  const grants = parseJson(row.grants, []);
  const roles: Grant[] = [];
  const permissions: Grant[] = [];
  for (const g of grants) (g.kind === 'role' ? roles : permissions).push({ name: g.name, source: g.source });
  roles.sort(byNameThenSource);
  permissions.sort(byNameThenSource);

  const attributes = dict<AttributeGrant[]>();
  for (const a of parseJson(row.attrs, []).sort((x, y) => (x.source < y.source ? -1 : x.source > y.source ? 1 : 0))) {
    (attributes[a.name] ??= []).push({ source: a.source, values: [...a.values] });
  }

  const identities: UserIdentity[] = parseJson(row.identities, [])
    .map((i) => ({ issuerId: i.issuer_id, iss: i.iss, sub: i.sub, createdAt: toIso(i.created_at) }))
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));

  return {
    id: row.id,
    usercode: row.usercode,
    lifecycle: row.lifecycle,
    status: parseJson(row.status, []),
    idpSource: row.idp_source,
    idpReferenceId: row.idp_reference_id,
    idpUsername: row.idp_username,
    idpWorkforceId: row.idp_workforce_id,
    idpCloudUsername: row.idp_cloud_username,
    displayName: row.display_name,
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    userType: row.user_type,
    tags: parseJson(row.tags, []),
    roles,
    permissions,
    attributes,
    identities,
    version: Number(row.version),
    suspendedAt: toIsoOrNull(row.suspended_at),
    deprovisionedAt: toIsoOrNull(row.deprovisioned_at),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
    lastLoginAt: toIsoOrNull(row.last_login_at),
    lastActivityAt: toIsoOrNull(row.last_activity_at ?? null),
  };
}

/**
 * The user as the admin API and `/me` show it: the fields of docs/user-record.md in camelCase, roles and permissions as
 * `[{ name, source }]`. Identities show issuer and subject (no secrets live on a user).
 */
export function userToJson(user: UserRecord): Record<string, unknown> {
  return {
    id: user.id,
    usercode: user.usercode,
    lifecycle: user.lifecycle,
    status: user.status,
    idpSource: user.idpSource,
    idpReferenceId: user.idpReferenceId,
    idpUsername: user.idpUsername,
    idpWorkforceId: user.idpWorkforceId,
    idpCloudUsername: user.idpCloudUsername,
    displayName: user.displayName,
    firstName: user.firstName,
    lastName: user.lastName,
    email: user.email,
    userType: user.userType,
    tags: user.tags,
    roles: user.roles,
    permissions: user.permissions,
    attributes: user.attributes,
    identities: user.identities,
    version: user.version,
    suspendedAt: user.suspendedAt,
    deprovisionedAt: user.deprovisionedAt,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
    lastLoginAt: user.lastLoginAt,
    lastActivityAt: user.lastActivityAt,
  };
}
