import type { Lifecycle } from '../../core/users/types.js';
import type { ProvisionedChanges } from '../../store/users/user-writer.js';
import { badRequest } from './scim-error.js';
import { ENTERPRISE_SCHEMA, USER_SCHEMA } from './schema.js';
import { isObject, prune, type Json, type JsonObject } from './values.js';

/**
 * SCIM User ↔ claimgate user. userName is the usercode, externalId the idp_reference_id, displayName,
 * name.givenName/familyName and the primary e-mail are profile columns, active is the lifecycle (ACTIVE, or
 * SUSPENDED / DEPROVISIONED = false). Every other attribute (title, phone numbers, addresses, the enterprise
 * extension with the manager…) is kept as sent in scim_users.attributes. `groups` is read from memberships.
 */

/** A users row joined to its SCIM part, as the SCIM queries select it. */
export interface ScimUserRow {
  id: string;
  usercode: string;
  lifecycle: Lifecycle;
  display_name: string | null;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  idp_reference_id: string | null;
  version: string | number;
  created_at: Date | string;
  updated_at: Date | string;
  scim_attributes: JsonObject | string | null;
  scim_groups?: { value: string; display: string }[] | string | null;
}

export const USER_COLUMNS = `u.id, u.usercode, u.lifecycle, u.display_name, u.first_name, u.last_name, u.email, u.idp_reference_id,
  u.version, u.created_at, u.updated_at, s.attributes AS scim_attributes`;
export const USER_GROUPS_COLUMN = `(SELECT coalesce(json_agg(json_build_object('value', gm.id, 'display', gm.display_name) ORDER BY gm.display_name, gm.id), '[]'::json)
     FROM scim_group_members mm JOIN scim_groups gm ON gm.id = mm.group_id WHERE mm.user_id = u.id) AS scim_groups`;

const json = <T>(v: T | string | null | undefined, fallback: T): T =>
  v === null || v === undefined ? fallback : typeof v === 'string' ? (JSON.parse(v) as T) : v;
const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();

/** The canonical document (no id, meta or groups) of a stored user. */
export function userDocument(row: ScimUserRow): JsonObject {
  const doc = structuredClone(json<JsonObject>(row.scim_attributes, {}));
  doc.userName = row.usercode;
  if (row.idp_reference_id !== null) doc.externalId = row.idp_reference_id;
  else delete doc.externalId;
  if (row.display_name !== null) doc.displayName = row.display_name;
  else delete doc.displayName;
  const name: JsonObject = { ...(isObject(doc.name) ? doc.name : {}) };
  delete name.givenName;
  delete name.familyName;
  if (row.first_name !== null) name.givenName = row.first_name;
  if (row.last_name !== null) name.familyName = row.last_name;
  if (Object.keys(name).length) doc.name = name;
  else delete doc.name;
  // The e-mail column may have been changed by a login since: it wins over the list SCIM last sent.
  const sent = Array.isArray(doc.emails) ? doc.emails : [];
  if (row.email === null) delete doc.emails;
  else if (!sent.some((e) => isObject(e) && typeof e.value === 'string' && e.value.toLowerCase() === row.email!.toLowerCase())) {
    doc.emails = [{ value: row.email, type: 'work', primary: true }];
  }
  doc.active = row.lifecycle === 'ACTIVE';
  return doc;
}

/** The e-mail stored in the column: the primary entry, else the work one, else the first. */
function chosenEmail(doc: JsonObject): string | null {
  const emails = (Array.isArray(doc.emails) ? doc.emails : []).filter(isObject);
  const pick = emails.find((e) => e.primary === true) ?? emails.find((e) => String(e.type).toLowerCase() === 'work') ?? emails[0];
  return typeof pick?.value === 'string' && pick.value !== '' ? pick.value : null;
}

/** What a document means for the user store, and the SCIM-only attributes to keep. */
export function documentToChanges(doc: JsonObject, current: Lifecycle | null): { changes: ProvisionedChanges; attributes: JsonObject } {
  const userName = doc.userName;
  if (typeof userName !== 'string' || userName.trim() === '') throw badRequest('invalidValue', 'userName is required.');
  if (userName.length > 256) throw badRequest('invalidValue', 'userName is too long (at most 256 characters).');
  const name = isObject(doc.name) ? doc.name : {};
  const str = (v: Json | undefined) => (typeof v === 'string' && v !== '' ? v : null);
  let lifecycle: Lifecycle | undefined;
  if (typeof doc.active === 'boolean') {
    if (doc.active) lifecycle = 'ACTIVE';
    else lifecycle = current === 'DEPROVISIONED' ? 'DEPROVISIONED' : 'SUSPENDED';
  }
  const changes: ProvisionedChanges = {
    usercode: userName,
    profile: {
      idpReferenceId: str(doc.externalId),
      displayName: str(doc.displayName),
      firstName: str(name.givenName),
      lastName: str(name.familyName),
      email: chosenEmail(doc),
    },
    ...(lifecycle ? { lifecycle } : {}),
  };
  const rest: JsonObject = { ...doc };
  for (const k of ['userName', 'externalId', 'displayName', 'active', 'password', 'groups']) delete rest[k];
  if (isObject(rest.name)) {
    const { givenName: _g, familyName: _f, ...others } = rest.name;
    rest.name = others;
  }
  const attributes = (prune(rest) as JsonObject | undefined) ?? {};
  return { changes, attributes };
}

/** The SCIM representation of a stored user. */
export function userResource(row: ScimUserRow, baseUrl: string): JsonObject {
  const doc = userDocument(row);
  const groups = json<{ value: string; display: string }[]>(row.scim_groups, []);
  const schemas = [USER_SCHEMA, ...(isObject(doc[ENTERPRISE_SCHEMA]) ? [ENTERPRISE_SCHEMA] : [])];
  const { userName, externalId, name, displayName, active, ...rest } = doc;
  return {
    schemas,
    id: row.id,
    ...(externalId !== undefined ? { externalId } : {}),
    userName,
    ...(name !== undefined ? { name } : {}),
    ...(displayName !== undefined ? { displayName } : {}),
    active,
    ...rest,
    ...(row.scim_groups !== undefined
      ? { groups: groups.map((g) => ({ value: g.value, display: g.display, $ref: `${baseUrl}/Groups/${g.value}`, type: 'direct' })) }
      : {}),
    meta: {
      resourceType: 'User',
      created: iso(row.created_at),
      lastModified: iso(row.updated_at),
      location: `${baseUrl}/Users/${row.id}`,
      version: `W/"${Number(row.version)}"`,
    },
  };
}
