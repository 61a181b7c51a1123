import { EventDataError } from './errors.js';
import { recomputeRoles } from './roles.js';
import { claimSubject, str, type ApplyContext, type HandlerOutcome } from './subjects.js';

export type GroupKind = 'ou' | 'group';

/** Field names of organisational units and groups in `bizData`. */
const FIELDS: Record<GroupKind, { id: string; name: string; externalId: string; label: string }> = {
  ou: { id: 'organizationalUnitId', name: 'organizationalUnitName', externalId: 'organizationalUnitExternalId', label: 'organisational unit' },
  group: { id: 'groupId', name: 'groupName', externalId: 'groupExternalId', label: 'group' },
};

function groupId(kind: GroupKind, b: Record<string, unknown>): string {
  const id = str(b[FIELDS[kind].id]);
  if (!id) throw new EventDataError(`bizData.${FIELDS[kind].id} is missing`);
  return id;
}

async function members(c: ApplyContext, kind: GroupKind, id: string): Promise<string[]> {
  return (await c.trx('event_group_members').where({ kind, group_id: id }).pluck('idaas_user_id')) as string[];
}

/** create, update, push: the unit or group as sent; a changed name or external id changes its members' roles. */
export async function upsertGroup(c: ApplyContext, kind: GroupKind, b: Record<string, unknown>): Promise<HandlerOutcome> {
  const f = FIELDS[kind];
  const id = groupId(kind, b);
  if (!(await claimSubject(c, kind, id)).fresh) return { outcome: 'skipped', message: `older than the last event applied to this ${f.label}` };
  const before = (await c.trx('event_groups').where({ kind, id }).first()) as { name: string | null; external_id: string | null; parent_id: string | null } | undefined;
  const row = {
    name: str(b[f.name]) ?? before?.name ?? null,
    external_id: str(b[f.externalId]) ?? before?.external_id ?? null,
    parent_id: kind === 'ou' ? (str(b.parentId) ?? before?.parent_id ?? null) : null,
    description: typeof b.description === 'string' ? b.description.slice(0, 2000) : null,
    updated_at: c.at,
  };
  await c.trx('event_groups').insert({ kind, id, ...row, created_at: c.at }).onConflict(['kind', 'id']).merge(Object.keys(row));
  if (before && (before.name !== row.name || before.external_id !== row.external_id)) {
    for (const uid of await members(c, kind, id)) await recomputeRoles(c, uid);
  }
  return { outcome: 'success', message: 'SUCCESS' };
}

/** delete: the unit or group and its memberships go; its members lose what it granted. */
export async function deleteGroup(c: ApplyContext, kind: GroupKind, b: Record<string, unknown>): Promise<HandlerOutcome> {
  const id = groupId(kind, b);
  if (!(await claimSubject(c, kind, id)).fresh) return { outcome: 'skipped', message: `older than the last event applied to this ${FIELDS[kind].label}` };
  const former = await members(c, kind, id);
  await c.trx('event_group_members').where({ kind, group_id: id }).delete();
  await c.trx('event_groups').where({ kind, id }).delete();
  for (const uid of former) await recomputeRoles(c, uid);
  return { outcome: 'success', message: 'SUCCESS' };
}

/** update_parent_organizational_unit. */
export async function moveUnit(c: ApplyContext, b: Record<string, unknown>): Promise<HandlerOutcome> {
  const id = groupId('ou', b);
  if (!(await claimSubject(c, 'ou', id)).fresh) return { outcome: 'skipped', message: 'older than the last event applied to this organisational unit' };
  const parent = str(b.parentId) ?? str(b.parentOrganizationalUnitId) ?? str(b.newParentId);
  const updated = await c.trx('event_groups').where({ kind: 'ou', id }).update({ parent_id: parent, updated_at: c.at });
  if (!updated) await c.trx('event_groups').insert({ kind: 'ou', id, parent_id: parent, created_at: c.at, updated_at: c.at });
  return { outcome: 'success', message: 'SUCCESS' };
}

/** The users an add_user / remove_user event names: `userId`, `userIds[]` or `users[]` (ids or `{ userId }`). */
function userIds(b: Record<string, unknown>): string[] {
  const ids = new Set<string>();
  const one = str(b.userId);
  if (one) ids.add(one);
  for (const list of [b.userIds, b.users, b.userIdList]) {
    if (!Array.isArray(list)) continue;
    for (const u of list) {
      const id = typeof u === 'object' && u !== null ? str((u as Record<string, unknown>).userId) : str(u);
      if (id) ids.add(id);
    }
  }
  if (!ids.size) throw new EventDataError('bizData names no user (userId or userIds)');
  return [...ids];
}

/** add_user / remove_user; each membership is ordered on its own, so an old add after a newer remove is skipped. */
export async function changeMembership(c: ApplyContext, kind: GroupKind, b: Record<string, unknown>, add: boolean): Promise<HandlerOutcome> {
  const id = groupId(kind, b);
  let applied = 0;
  for (const uid of userIds(b)) {
    if (!(await claimSubject(c, `${kind}-member`, `${id}:${uid}`)).fresh) continue;
    applied++;
    if (add) {
      await c.trx('event_group_members').insert({ kind, group_id: id, idaas_user_id: uid }).onConflict(['kind', 'group_id', 'idaas_user_id']).ignore();
    } else {
      await c.trx('event_group_members').where({ kind, group_id: id, idaas_user_id: uid }).delete();
    }
    await recomputeRoles(c, uid);
  }
  return applied ? { outcome: 'success', message: 'SUCCESS' } : { outcome: 'skipped', message: 'older than the last event applied to these memberships' };
}
