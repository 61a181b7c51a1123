import type { Knex } from 'knex';
import { ulid } from '../../core/ids.js';
import { setLifecycleTx } from './lifecycle-tx.js';
import { isEmailAddress } from '../../core/mapping/values.js';
import { recordAudit } from '../audit-log.js';
import type { ProfileField } from '../../core/mapping/schema.js';
import { PROFILE_COLUMNS, PROFILE_FIELDS, profileValue, type UserRow } from './row.js';
import { applySourceGrants } from './source-grants.js';
import { activityDay, touchActivity } from './activity.js';
import type { Lifecycle, SourceGrants } from '../../core/users/types.js';
import { enforceTextRule } from '../../core/users/text-rules.js';

type Trx = Knex.Transaction;
type ProfileValue = string | string[] | null;

/**
 * Create-or-update of a provisioned user (SCIM, the sync API) inside the caller's transaction, so one request's
 * profile, lifecycle and grants commit together or not at all. Like the login sync, only differences are written:
 * an identical request writes no row. Leaving ACTIVE ends the user's sessions in the same transaction.
 * The caller publishes the user invalidation after commit for every id whose `bumped` is true.
 */
export interface ProvisionedChanges {
  /** A new usercode (rename), compared case-sensitively. */
  usercode?: string;
  /** Profile fields to set; null clears. Omitted fields are left as they are. */
  profile?: Partial<Record<ProfileField, ProfileValue>>;
  lifecycle?: Lifecycle;
  /** What `source` grants (an omitted kind is left as it is). */
  grants?: SourceGrants;
  /** Tags the channel always adds (`scim`, `api`), kept beside whatever other tags the user has. */
  addTags?: string[];
}

/** The tags that say which provisioning channels manage a user. */
const CHANNEL_TAGS = new Set(['scim', 'events', 'api']);

/**
 * `profile.tags` (or the stored tags) with the channel's own tags added; undefined when nothing changes. Tags a
 * channel sends replace the user's other tags, never the channel tags it already carries (a user SCIM manages
 * keeps `scim` when the sync API sets its tags).
 */
function withChannelTags(changes: Omit<ProvisionedChanges, 'usercode'>, current: string[] | null): ProfileValue | undefined {
  const given = changes.profile?.tags;
  if (!changes.addTags?.length) return given;
  const base =
    given === undefined || given === null
      ? (current ?? [])
      : [...(Array.isArray(given) ? given : [given]), ...(current ?? []).filter((t) => CHANNEL_TAGS.has(String(t)))];
  return [...new Set([...base.map(String), ...changes.addTags])];
}

export interface WriteMeta {
  source: string;
  actor: string | null;
  at: Date;
}

export interface WriteResult {
  userId: string;
  created: boolean;
  /** Something the app sees changed: the version was bumped (invalidate caches after commit). */
  bumped: boolean;
}

/** A usercode that exists (case-insensitively) on another user. */
export class UsercodeTaken extends Error {
  constructor() {
    super('usercode taken');
    this.name = 'UsercodeTaken';
  }
}

function normalise(field: ProfileField, v: ProfileValue): ProfileValue | undefined {
  if (v === null) return field === 'userType' || field === 'tags' ? undefined : null;
  if (field === 'tags') return [...new Set((Array.isArray(v) ? v : [v]).map(String))];
  const s = Array.isArray(v) ? (v[0] ?? null) : v;
  if (s === null) return null;
  if (field === 'userType') {
    const t = String(s).toUpperCase();
    return t === 'PERSON' || t === 'SERVICE' ? t : undefined;
  }
  if (field === 'email' && !isEmailAddress(String(s))) return undefined;
  return String(s);
}

const columnOf = (field: ProfileField, v: ProfileValue) => (field === 'tags' ? JSON.stringify(v ?? []) : v);

/** The changes after the text rule (display texts cleaned); throws TextRefused before anything is written. */
function checkedTexts<T extends ProvisionedChanges>(changes: T): T {
  const g = changes.grants;
  const texts = enforceTextRule({
    ...(changes.usercode !== undefined ? { usercode: changes.usercode } : {}),
    ...(changes.profile ? { profile: changes.profile } : {}),
    ...(g?.roles ? { roles: g.roles } : {}),
    ...(g?.permissions ? { permissions: g.permissions } : {}),
    ...(g?.attributes ? { attributes: g.attributes } : {}),
  });
  const grants = g && {
    ...g,
    ...(texts.roles ? { roles: texts.roles } : {}),
    ...(texts.permissions ? { permissions: texts.permissions } : {}),
    ...(texts.attributes ? { attributes: texts.attributes } : {}),
  };
  return { ...changes, ...(texts.profile ? { profile: texts.profile } : {}), ...(grants ? { grants } : {}) };
}

export async function createProvisionedUser(
  trx: Trx,
  usercode: string,
  unchecked: Omit<ProvisionedChanges, 'usercode'>,
  meta: WriteMeta,
): Promise<WriteResult> {
  enforceTextRule({ usercode });
  const changes = checkedTexts(unchecked);
  const columns: Record<string, unknown> = {};
  const fields: ProfileField[] = [];
  for (const field of PROFILE_FIELDS) {
    const raw = field === 'tags' ? withChannelTags(changes, null) : changes.profile?.[field];
    if (raw === undefined) continue;
    const v = normalise(field, raw);
    if (v === undefined || v === null) continue;
    columns[PROFILE_COLUMNS[field]] = columnOf(field, v);
    fields.push(field);
  }
  const lifecycle = changes.lifecycle ?? 'ACTIVE';
  const rows = (await trx('users')
    .insert({
      id: ulid(),
      usercode,
      lifecycle,
      ...columns,
      suspended_at: lifecycle === 'ACTIVE' ? null : meta.at,
      deprovisioned_at: lifecycle === 'DEPROVISIONED' ? meta.at : null,
      created_at: meta.at,
      updated_at: meta.at,
      last_activity_at: activityDay(meta.at),
    })
    .onConflict()
    .ignore()
    .returning('id')) as { id: string }[];
  const userId = rows[0]?.id;
  if (!userId) throw new UsercodeTaken();
  await recordAudit(trx, { type: 'user_created', userId, usercode, actor: meta.actor, source: meta.source, at: meta.at, detail: { fields, lifecycle } });
  if (changes.grants) {
    await applySourceGrants(trx, { userId, usercode, source: meta.source, actor: meta.actor, at: meta.at }, changes.grants);
  }
  return { userId, created: true, bumped: false };
}

/** Updates an existing user (locked FOR UPDATE here). Null when there is no such user. */
export async function updateProvisionedUser(
  trx: Trx,
  userId: string,
  unchecked: ProvisionedChanges,
  meta: WriteMeta,
): Promise<WriteResult | null> {
  const changes = checkedTexts(unchecked);
  const row = (await trx('users').where({ id: userId }).forUpdate().first()) as UserRow | undefined;
  if (!row) return null;
  await touchActivity(trx, userId, meta.at);
  const update: Record<string, unknown> = {};
  const before: Record<string, ProfileValue> = {};
  const after: Record<string, ProfileValue> = {};
  for (const field of PROFILE_FIELDS) {
    const raw = field === 'tags' ? withChannelTags(changes, profileValue(row, 'tags') as string[] | null) : changes.profile?.[field];
    if (raw === undefined) continue;
    const next = normalise(field, raw);
    if (next === undefined) continue;
    const prev = profileValue(row, field);
    if (JSON.stringify(prev) === JSON.stringify(next)) continue;
    update[PROFILE_COLUMNS[field]] = columnOf(field, next);
    before[field] = prev;
    after[field] = next;
  }
  if (changes.usercode !== undefined && changes.usercode !== row.usercode) {
    const other = await trx('users').whereRaw('lower(usercode) = lower(?)', [changes.usercode]).whereNot('id', userId).first('id');
    if (other) throw new UsercodeTaken();
    update.usercode = changes.usercode;
    before.usercode = row.usercode;
    after.usercode = changes.usercode;
  }
  const usercode = changes.usercode ?? row.usercode;
  if (Object.keys(after).length) {
    await recordAudit(trx, {
      type: 'profile_change',
      userId,
      usercode,
      actor: meta.actor,
      source: meta.source,
      at: meta.at,
      detail: { fields: Object.keys(after), before, after },
    });
  }
  // The same lifecycle move as everywhere else (sessions end when leaving ACTIVE), inside this transaction.
  const lifecycleChanged = changes.lifecycle
    ? await setLifecycleTx(trx, { ...row, usercode }, changes.lifecycle, { at: meta.at, actor: meta.actor, source: meta.source })
    : false;
  let grantsChanged = false;
  if (changes.grants) {
    const g = await applySourceGrants(trx, { userId, usercode, source: meta.source, actor: meta.actor, at: meta.at }, changes.grants);
    grantsChanged = !!(g.roles || g.permissions || g.attributes);
  }
  const bumped = Object.keys(update).length > 0 || grantsChanged;
  if (bumped) await trx('users').where({ id: userId }).update({ ...update, version: trx.raw('version + 1'), updated_at: meta.at });
  return { userId, created: false, bumped: bumped || lifecycleChanged };
}

/** Hard delete (sessions, grants, identities and memberships go with the row); audited. */
export async function deleteProvisionedUser(trx: Trx, userId: string, meta: WriteMeta): Promise<boolean> {
  const row = (await trx('users').where({ id: userId }).forUpdate().first('usercode')) as { usercode: string } | undefined;
  if (!row) return false;
  await trx('users').where({ id: userId }).delete();
  await recordAudit(trx, { type: 'user_deleted', userId, usercode: row.usercode, actor: meta.actor, source: meta.source, at: meta.at });
  return true;
}

/** Runs `fn` in one transaction; afterwards tells every process about the users whose version changed. */
export async function inProvisioningTx<T>(
  knex: Knex,
  publish: (userId: string) => void,
  fn: (trx: Trx, touched: (r: { userId: string; bumped: boolean } | null | undefined) => void) => Promise<T>,
): Promise<T> {
  const ids = new Set<string>();
  const result = await knex.transaction((trx) => fn(trx, (r) => void (r?.bumped && ids.add(r.userId))));
  for (const id of ids) {
    try {
      publish(id);
    } catch {
      // committed; the bus reads through while it cannot publish
    }
  }
  return result;
}
