import { touchActivity } from '../../store/users/activity.js';
import { ulid } from '../../core/ids.js';
import { recordAudit } from '../../store/audit-log.js';
import type { ProfileField } from '../../core/mapping/index.js';
import { setLifecycleTx } from '../../store/users/lifecycle-tx.js';
import { planProfile } from '../../store/users/profile.js';
import { profileValue, type UserRow } from '../../store/users/row.js';
import type { Lifecycle } from '../../core/users/types.js';
import { EventDataError } from './errors.js';
import { recomputeRoles } from './roles.js';
import { ACTOR, SOURCE, claimSubject, ownedByEvents, findLocalUser, setLocalUser, str, type ApplyContext, type HandlerOutcome } from './subjects.js';
import { applyTextRule, hasControlCharacter } from '../../core/users/text-rules.js';

const stale = (what: string): HandlerOutcome => ({ outcome: 'skipped', message: `older than the last event applied to this ${what}` });

function idaasUserId(b: Record<string, unknown>): string {
  const id = str(b.userId);
  if (!id) throw new EventDataError('bizData.userId is missing');
  return id;
}

/** The lifecycle a user object asks for: `status: disabled`, or a lock still running, suspend. */
function lifecycleOf(b: Record<string, unknown>, now: number): Lifecycle | null {
  const lockUntil = Number(b.lockExpireTime);
  if (Number.isFinite(lockUntil) && lockUntil > now) return 'SUSPENDED';
  if (b.status === 'disabled') return 'SUSPENDED';
  if (b.status === 'enabled') return 'ACTIVE';
  return null;
}

/** Unit ids of a user object (`userOrganizationalUnits[]` of ids or `{ organizationalUnitId }`, plus the primary). */
function unitsOf(b: Record<string, unknown>): { ids: string[]; primary: string | null } | null {
  const primary = str(b.primaryOrganizationalUnitId);
  const list = Array.isArray(b.userOrganizationalUnits) ? b.userOrganizationalUnits : null;
  if (!list && !primary) return null;
  const ids = new Set<string>();
  for (const u of list ?? []) {
    const id = typeof u === 'object' && u !== null ? str((u as Record<string, unknown>).organizationalUnitId) : str(u);
    if (id) ids.add(id);
  }
  if (primary) ids.add(primary);
  return { ids: [...ids], primary };
}

/** Replaces the user's unit memberships with `units` (only when the object lists them). */
async function setUnits(c: ApplyContext, uid: string, units: { ids: string[]; primary: string | null }, replaceAll: boolean): Promise<void> {
  if (replaceAll) await c.trx('event_group_members').where({ kind: 'ou', idaas_user_id: uid }).whereNotIn('group_id', units.ids).delete();
  else await c.trx('event_group_members').where({ kind: 'ou', idaas_user_id: uid, is_primary: true }).delete();
  for (const id of units.ids) {
    await c
      .trx('event_group_members')
      .insert({ kind: 'ou', group_id: id, idaas_user_id: uid, is_primary: id === units.primary })
      .onConflict(['kind', 'group_id', 'idaas_user_id'])
      .merge(['is_primary']);
  }
}

/** The profile a user object gives (docs/provisioning.md#change-events). Never the password. */
function profileOf(c: ApplyContext, b: Record<string, unknown>, row: UserRow | null, uid: string): Partial<Record<ProfileField, string | string[]>> {
  const p: Partial<Record<ProfileField, string | string[]>> = {};
  const set = (f: ProfileField, v: unknown) => {
    const s = str(v);
    if (s) p[f] = s;
  };
  set('displayName', b.displayName);
  set('email', b.email);
  set('idpWorkforceId', b.userExternalId);
  // The reference fields name the identity service only on users it owns (or that nobody else has claimed).
  if (!row || ownedByEvents(c, row.idp_source) || (row.idp_source === null && row.idp_reference_id === null)) {
    p.idpSource = c.config.idpSource;
    p.idpReferenceId = uid;
  }
  // The channel's tag joins whatever tags the user has.
  const tags = row ? (profileValue(row, 'tags') as string[]) : [];
  p.tags = tags.includes(SOURCE) ? tags : [...tags, SOURCE];
  const checked = applyTextRule({ profile: p });
  if (!checked.ok) throw new EventDataError(checked.problems.map((x) => `bizData ${x.field}: ${x.message}`).join('; '));
  return checked.value.profile as Partial<Record<ProfileField, string | string[]>>;
}

async function reload(c: ApplyContext, id: string): Promise<UserRow> {
  return (await c.trx('users').where({ id }).forUpdate().first()) as UserRow;
}

/** create, update_info, push: create-or-update by `userId` (then by `username` as usercode). */
export async function upsertUser(c: ApplyContext, b: Record<string, unknown>): Promise<HandlerOutcome> {
  const uid = idaasUserId(b);
  const subject = await claimSubject(c, 'user', uid);
  if (!subject.fresh) return stale('user');
  const username = str(b.username);
  if (username && hasControlCharacter(username)) throw new EventDataError('bizData.username contains a control character');
  let row = await findLocalUser(c, uid, subject.localId);
  let created = false;
  if (!row) {
    if (!username) throw new EventDataError('bizData.username is missing');
    const existing = (await c.trx('users').whereRaw('lower(usercode) = lower(?)', [username]).forUpdate().first()) as UserRow | undefined;
    if (existing) {
      if (ownedByEvents(c, existing.idp_source) && existing.idp_reference_id && existing.idp_reference_id !== uid) {
        throw new EventDataError('the username is the usercode of another identity-service user');
      }
      row = existing;
    } else {
      const plan = planProfile(null, { profile: profileOf(c, b, null, uid), sync: {} });
      const lifecycle = lifecycleOf(b, c.at.getTime()) ?? 'ACTIVE';
      const id = ulid();
      await c.trx('users').insert({
        id,
        usercode: username,
        lifecycle,
        ...plan.columns,
        suspended_at: lifecycle === 'ACTIVE' ? null : c.at,
        created_at: c.at,
        updated_at: c.at,
      });
      await recordAudit(c.trx, { type: 'user_created', userId: id, usercode: username, actor: ACTOR, source: SOURCE, at: c.at, detail: { fields: plan.fields, lifecycle } });
      row = await reload(c, id);
      created = true;
    }
  }
  await setLocalUser(c, uid, row.id);
  await touchActivity(c.trx, row.id, c.at);
  if (!created) {
    const plan = planProfile(row, { profile: profileOf(c, b, row, uid), sync: {} });
    const columns: Record<string, unknown> = { ...plan.columns };
    if (username && username !== row.usercode) {
      const taken = await c.trx('users').whereRaw('lower(usercode) = lower(?)', [username]).whereNot('id', row.id).first('id');
      if (taken) throw new EventDataError('the new username is the usercode of another user');
      columns.usercode = username;
    }
    if (Object.keys(columns).length) {
      await c.trx('users').where({ id: row.id }).update({ ...columns, version: c.trx.raw('version + 1'), updated_at: c.at });
      await recordAudit(c.trx, {
        type: 'profile_change',
        userId: row.id,
        usercode: username ?? row.usercode,
        actor: ACTOR,
        source: SOURCE,
        at: c.at,
        detail: { fields: plan.fields, ...(columns.usercode ? { renamedFrom: row.usercode } : {}) },
      });
      c.changedUsers.add(row.id);
      row = await reload(c, row.id);
    }
    const lifecycle = lifecycleOf(b, c.at.getTime());
    if (lifecycle && (await setLifecycleTx(c.trx, row, lifecycle, { at: c.at, actor: ACTOR, source: SOURCE, detail: { eventId: c.event.eventId } }))) {
      c.changedUsers.add(row.id);
      row = await reload(c, row.id);
    }
  } else c.changedUsers.add(row.id);
  const units = unitsOf(b);
  if (units) await setUnits(c, uid, units, Array.isArray(b.userOrganizationalUnits));
  await recomputeRoles(c, uid, row);
  return { outcome: 'success', message: 'SUCCESS' };
}

/** disable, lock, delete (suspend: the deletion job does the rest), enable, unlock (reactivate). */
export async function setUserLifecycle(c: ApplyContext, b: Record<string, unknown>, lifecycle: Lifecycle): Promise<HandlerOutcome> {
  const uid = idaasUserId(b);
  const subject = await claimSubject(c, 'user', uid);
  if (!subject.fresh) return stale('user');
  const row = await findLocalUser(c, uid, subject.localId);
  if (!row) return { outcome: 'skipped', message: 'no such user here' };
  if (await setLifecycleTx(c.trx, row, lifecycle, { at: c.at, actor: ACTOR, source: SOURCE, detail: { eventId: c.event.eventId, eventType: c.event.type } })) {
    c.changedUsers.add(row.id);
  }
  await recomputeRoles(c, uid, await reload(c, row.id));
  return { outcome: 'success', message: 'SUCCESS' };
}

/** update_primary_ou: the user moves to another primary unit (or the object lists all of its units). */
export async function setPrimaryUnit(c: ApplyContext, b: Record<string, unknown>): Promise<HandlerOutcome> {
  const uid = idaasUserId(b);
  const subject = await claimSubject(c, 'user', uid);
  if (!subject.fresh) return stale('user');
  const units = unitsOf({ ...b, primaryOrganizationalUnitId: b.primaryOrganizationalUnitId ?? b.organizationalUnitId });
  if (!units) throw new EventDataError('bizData.primaryOrganizationalUnitId is missing');
  await setUnits(c, uid, units, Array.isArray(b.userOrganizationalUnits));
  await recomputeRoles(c, uid);
  return { outcome: 'success', message: 'SUCCESS' };
}
