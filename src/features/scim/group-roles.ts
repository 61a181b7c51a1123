import type { Knex } from 'knex';
import { updateProvisionedUser, type WriteMeta, type WriteResult } from '../../store/users/user-writer.js';
import type { ScimDeps } from './deps.js';
import { rolesOfGroup, rolesOfResource, type JsonObject } from '../../core/scim/user-roles.js';
import { storedResource } from '../../store/scim-users.js';

/**
 * Recomputes the `scim` roles of these users from their current memberships (groupRoles) and their own
 * resource (userRoles), and replaces what source `scim` grants them (roles only). Call in the transaction that changed the memberships; users whose roles did not
 * change are not written.
 */
export async function recomputeScimRoles(
  trx: Knex.Transaction,
  deps: Pick<ScimDeps, 'groupRoles' | 'allowedRoles' | 'userRoles'>,
  userIds: Iterable<string>,
  meta: WriteMeta,
): Promise<WriteResult[]> {
  // One set of rules for the whole recomputation, even if a new version comes into force meanwhile.
  const { groupRoles, userRoles, allowedRoles } = deps;
  const ids = [...new Set(userIds)].sort();
  const results: WriteResult[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const rows = (await trx('scim_group_members as m')
      .join('scim_groups as g', 'g.id', 'm.group_id')
      .whereIn('m.user_id', chunk)
      .select('m.user_id', 'g.display_name', 'g.external_id')) as { user_id: string; display_name: string; external_id: string | null }[];
    const resources = new Map<string, JsonObject>();
    if (userRoles?.length) {
      const rs = (await trx('users as u')
        .leftJoin('scim_users as s', 's.user_id', 'u.id')
        .whereIn('u.id', chunk)
        .select('u.id', 'u.usercode', 'u.idp_reference_id', 's.attributes')) as { id: string; usercode: string; idp_reference_id: string | null; attributes: unknown }[];
      for (const r of rs) resources.set(r.id, storedResource(r));
    }
    for (const id of chunk) {
      const roles = new Set<string>();
      const resource = resources.get(id);
      if (resource && userRoles) for (const role of rolesOfResource(userRoles, resource).roles) roles.add(role);
      for (const r of rows) if (r.user_id === id) for (const role of rolesOfGroup(groupRoles, r.display_name, r.external_id)) roles.add(role);
      const allowed = allowedRoles ? [...roles].filter((r) => allowedRoles.includes(r)) : [...roles];
      const res = await updateProvisionedUser(trx, id, { grants: { roles: allowed } }, { ...meta, source: 'scim' });
      if (res) results.push(res);
    }
  }
  return results;
}
