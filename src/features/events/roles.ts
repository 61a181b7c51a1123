import { applySourceGrants } from '../../store/users/source-grants.js';
import type { UserRow } from '../../store/users/row.js';
import { ACTOR, SOURCE, findLocalUser, type ApplyContext } from './subjects.js';
import { own } from '../../core/own-keys.js';

/**
 * Recomputes the roles an identity-service user gets from its units and groups (`provisioning.events.groupRoles`,
 * keyed by name, external id or id; filtered by `allowedRoles`), granted with the source `events`. A SUSPENDED
 * user keeps them recorded (they grant nothing until it is ACTIVE again); a DEPROVISIONED one gets none: the
 * deletion job removed its event rights, and only a reactivation brings them back from its memberships.
 */
export async function recomputeRoles(c: ApplyContext, idaasUserId: string, row?: UserRow | null): Promise<void> {
  const user = row ?? (await findLocalUser(c, idaasUserId));
  if (!user) return;
  const groups = (await c
    .trx('event_group_members as m')
    .leftJoin('event_groups as g', function () {
      this.on('g.kind', '=', 'm.kind').andOn('g.id', '=', 'm.group_id');
    })
    .where('m.idaas_user_id', idaasUserId)
    .select('m.group_id', 'g.name', 'g.external_id')) as { group_id: string; name: string | null; external_id: string | null }[];
  const roles = new Set<string>();
  if (user.lifecycle !== 'DEPROVISIONED') {
    for (const g of groups) {
      for (const key of [g.name, g.external_id, g.group_id]) {
        const mapped = key ? own(c.config.groupRoles, key) : undefined;
        if (mapped) for (const r of Array.isArray(mapped) ? mapped : [mapped]) roles.add(r);
      }
    }
  }
  const allowed = c.config.allowedRoles;
  const granted = [...roles].filter((r) => !allowed || allowed.includes(r));
  const changes = await applySourceGrants(
    c.trx,
    { userId: user.id, usercode: user.usercode, source: SOURCE, actor: ACTOR, at: c.at },
    { roles: granted },
  );
  if (changes.roles) {
    await c.trx('users').where({ id: user.id }).update({ version: c.trx.raw('version + 1'), updated_at: c.at });
    c.changedUsers.add(user.id);
  }
}
