import type { Knex } from 'knex';
import { recordAudit } from '../../store/audit-log.js';
import { GatewayError } from '../../core/errors/errors.js';
import type { AdminDeps } from './deps.js';
import type { ProfileField } from '../../core/mapping/schema.js';
import { selectFullUsersByIds } from '../../store/users/queries.js';
import { PROFILE_FIELDS, rowToRecord } from '../../store/users/row.js';
import type { Lifecycle, SourceGrants, UserRecord } from '../../store/users/index.js';
import { updateProvisionedUser } from '../../store/users/user-writer.js';
import { decodeCursor, page } from './cursor.js';
import type { listUsersQuery, userPatchSchema } from './schemas.js';
import type { z } from 'zod';

type Q = Knex | Knex.Transaction;
const ADMIN_SOURCE = 'admin';

/** A user by id, else by usercode (case-insensitive); `404 user_not_found` otherwise. */
export async function resolveUser(deps: AdminDeps, idOrUsercode: string): Promise<UserRecord> {
  const user = (await deps.users.getById(idOrUsercode)) ?? (await deps.users.getByUsercode(idOrUsercode));
  if (!user) throw new GatewayError('user_not_found', 404, 'There is no user with this id or usercode.');
  return user;
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** `GET …/users`: filtered, in id (= creation) order, keyset-paginated by id. */
export async function listUsers(knex: Knex, query: z.output<typeof listUsersQuery>): Promise<{ items: UserRecord[]; nextCursor: string | null }> {
  const q = knex('users as u').select('u.id').orderBy('u.id').limit(query.limit + 1);
  if (query.cursor) q.where('u.id', '>', decodeCursor(query.cursor, ['id'] as const)[0]);
  if (query.lifecycle) q.where('u.lifecycle', query.lifecycle);
  if (query.q) {
    const like = `%${likeEscape(query.q)}%`;
    // The IdP identifiers too: people often only have the one the directory shows them.
    q.where((w) => {
      w.whereILike('u.usercode', like).orWhereILike('u.email', like).orWhereILike('u.display_name', like);
      for (const c of ['idp_reference_id', 'idp_username', 'idp_workforce_id', 'idp_cloud_username']) w.orWhereILike(`u.${c}`, like);
    });
  }
  if (query.role) {
    q.whereExists(knex('user_grants as g').select(knex.raw('1')).whereRaw('g.user_id = u.id').where({ 'g.kind': 'role', 'g.name': query.role }));
  }
  const ids = ((await q) as { id: string }[]).map((r) => r.id);
  const rows = await selectFullUsersByIds(knex, ids);
  const byId = new Map(rows.map((r) => [r.id, rowToRecord(r)]));
  const users = ids.map((id) => byId.get(id)).filter((u): u is UserRecord => !!u);
  return page(users, query.limit, (u) => [u.id]);
}

type Patch = z.output<typeof userPatchSchema>;

/** Every profile field of the user record can be patched. */
const PATCHABLE_PROFILE: readonly ProfileField[] = PROFILE_FIELDS;

/**
 * Applies a JSON merge patch to a user in ONE transaction: profile fields, `adminRoles` / `adminPermissions` (the
 * `admin` source, which logins never touch) and `lifecycle` (suspension ends every session) commit together or not
 * at all, through the same writer SCIM and the sync API use. Every other process hears of it after the commit.
 */
export async function patchUser(deps: AdminDeps, user: UserRecord, patch: Patch, actor: string): Promise<UserRecord> {
  const profile: Partial<Record<ProfileField, string | string[] | null>> = {};
  for (const f of PATCHABLE_PROFILE) {
    const v = patch[f as keyof Patch] as string | string[] | null | undefined;
    // null clears; for tags that is the empty list.
    if (v !== undefined) profile[f] = f === 'tags' && v === null ? [] : v;
  }
  const grants: SourceGrants = {};
  if (patch.adminRoles !== undefined) grants.roles = patch.adminRoles ?? [];
  if (patch.adminPermissions !== undefined) grants.permissions = patch.adminPermissions ?? [];
  const result = await deps.knex.transaction((trx) =>
    updateProvisionedUser(
      trx,
      user.id,
      { profile, grants, ...(patch.lifecycle !== undefined ? { lifecycle: patch.lifecycle as Lifecycle } : {}) },
      { source: ADMIN_SOURCE, actor, at: new Date(deps.now()) },
    ),
  );
  if (!result) throw new GatewayError('user_not_found', 404, 'There is no user with this id or usercode.');
  if (result.bumped) await deps.bus.publish({ kind: 'user', id: user.id });
  return resolveUser(deps, user.id);
}

/** Hard delete (grants, identities, sessions and stored login claims go with it); the audit trail stays. */
export async function deleteUser(deps: AdminDeps, user: UserRecord, actor: string): Promise<void> {
  await deps.knex.transaction(async (trx: Q) => {
    const n = await trx('users').where({ id: user.id }).delete();
    if (!n) throw new GatewayError('user_not_found', 404, 'There is no user with this id or usercode.');
    await recordAudit(trx, {
      type: 'user_deleted',
      userId: user.id,
      usercode: user.usercode,
      actor,
      source: ADMIN_SOURCE,
      detail: { roles: user.roles, permissions: user.permissions, lifecycle: user.lifecycle },
    });
  });
  await deps.bus.publish({ kind: 'user', id: user.id });
}
