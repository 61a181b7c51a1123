import type { Knex } from 'knex';
import { updateProvisionedUser, type WriteMeta, type WriteResult } from '../../users/user-writer.js';
import type { ScimDeps } from './deps.js';

/** The roles one group grants: provisioning.scim.groupRoles keyed by its displayName or externalId (any case). */
export function rolesOfGroup(groupRoles: ScimDeps['groupRoles'], displayName: string, externalId: string | null): string[] {
  const out = new Set<string>();
  const wanted = [displayName, externalId].filter((k): k is string => !!k).map((k) => k.toLowerCase());
  for (const [key, roles] of Object.entries(groupRoles)) {
    if (!wanted.includes(key.toLowerCase())) continue;
    for (const r of Array.isArray(roles) ? roles : [roles]) out.add(r);
  }
  return [...out];
}

/**
 * Recomputes the `scim` roles of these users from their current memberships and replaces what source `scim`
 * grants them (roles only). Call in the transaction that changed the memberships; users whose roles did not
 * change are not written.
 */
export async function recomputeScimRoles(
  trx: Knex.Transaction,
  deps: Pick<ScimDeps, 'groupRoles' | 'allowedRoles'>,
  userIds: Iterable<string>,
  meta: WriteMeta,
): Promise<WriteResult[]> {
  const ids = [...new Set(userIds)].sort();
  const results: WriteResult[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const rows = (await trx('scim_group_members as m')
      .join('scim_groups as g', 'g.id', 'm.group_id')
      .whereIn('m.user_id', chunk)
      .select('m.user_id', 'g.display_name', 'g.external_id')) as { user_id: string; display_name: string; external_id: string | null }[];
    for (const id of chunk) {
      const roles = new Set<string>();
      for (const r of rows) if (r.user_id === id) for (const role of rolesOfGroup(deps.groupRoles, r.display_name, r.external_id)) roles.add(role);
      const allowed = deps.allowedRoles ? [...roles].filter((r) => deps.allowedRoles!.includes(r)) : [...roles];
      const res = await updateProvisionedUser(trx, id, { grants: { roles: allowed } }, { ...meta, source: 'scim' });
      if (res) results.push(res);
    }
  }
  return results;
}
