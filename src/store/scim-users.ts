import type { Knex } from 'knex';
import type { JsonObject } from '../core/scim/user-roles.js';

/** The resource as received, as far as it is kept: userName, externalId and the SCIM-only attributes. */
export function storedResource(r: { usercode: string; idp_reference_id: string | null; attributes: unknown }): JsonObject {
  const attrs = (typeof r.attributes === 'string' ? JSON.parse(r.attributes) : (r.attributes ?? {})) as JsonObject;
  return { ...attrs, userName: r.usercode, ...(r.idp_reference_id ? { externalId: r.idp_reference_id } : {}) };
}

/** A stored user's SCIM resource (as far as it is kept) and its SCIM groups. */
export async function storedScimUser(knex: Knex, userId: string): Promise<{ resource: JsonObject; groups: { displayName: string; externalId: string | null }[] } | null> {
  const r = (await knex('users as u')
    .leftJoin('scim_users as s', 's.user_id', 'u.id')
    .where('u.id', userId)
    .select('u.usercode', 'u.idp_reference_id', 's.attributes')
    .first()) as { usercode: string; idp_reference_id: string | null; attributes: unknown } | undefined;
  if (!r) return null;
  const groups = (await knex('scim_group_members as m')
    .join('scim_groups as g', 'g.id', 'm.group_id')
    .where('m.user_id', userId)
    .orderBy('g.display_name')
    .select('g.display_name as displayName', 'g.external_id as externalId')) as { displayName: string; externalId: string | null }[];
  return { resource: storedResource(r), groups };
}
