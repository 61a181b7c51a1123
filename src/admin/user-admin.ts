import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit-log.js';
import { GatewayError } from '../errors.js';
import type { GatewayContext } from '../gateway-context.js';
import type { ProfileField } from '../mapping/schema.js';
import { selectFullUsersByIds } from '../users/queries.js';
import { PROFILE_COLUMNS, PROFILE_FIELDS, rowToRecord } from '../users/row.js';
import type { Lifecycle, UserRecord } from '../users/index.js';
import { decodeCursor, page } from './cursor.js';
import type { listUsersQuery, userPatchSchema } from './schemas.js';
import type { z } from 'zod';

type Q = Knex | Knex.Transaction;
const ADMIN_SOURCE = 'admin';

/** A user by id, else by usercode (case-insensitive); `404 user_not_found` otherwise. */
export async function resolveUser(ctx: GatewayContext, idOrUsercode: string): Promise<UserRecord> {
  const user = (await ctx.users.getById(idOrUsercode)) ?? (await ctx.users.getByUsercode(idOrUsercode));
  if (!user) throw new GatewayError('user_not_found', 404, 'There is no user with this id or usercode.');
  return user;
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** `GET …/users`: filtered, in id (= creation) order, keyset-paginated by id. */
export async function listUsers(knex: Knex, query: z.output<typeof listUsersQuery>): Promise<{ items: UserRecord[]; nextCursor: string | null }> {
  const q = knex('users as u').select('u.id').orderBy('u.id').limit(query.limit + 1);
  if (query.cursor) q.where('u.id', '>', String(decodeCursor(query.cursor, 1)[0]));
  if (query.lifecycle) q.where('u.lifecycle', query.lifecycle);
  if (query.q) {
    const like = `%${likeEscape(query.q)}%`;
    q.where((w) => w.whereILike('u.usercode', like).orWhereILike('u.email', like).orWhereILike('u.display_name', like));
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
 * Applies a JSON merge patch to a user: profile fields (one audited `profile_change`), `adminRoles` /
 * `adminPermissions` (the `admin` source, which logins never touch) and `lifecycle` (suspension ends every
 * session). Each part is its own committed change; the patch was validated as a whole first.
 */
export async function patchUser(ctx: GatewayContext, user: UserRecord, patch: Patch, actor: string): Promise<UserRecord> {
  const fields = PATCHABLE_PROFILE.filter((f) => patch[f as keyof Patch] !== undefined);
  if (fields.length) await patchProfile(ctx, user, patch, fields, actor);
  if (patch.adminRoles !== undefined || patch.adminPermissions !== undefined) {
    const r = await ctx.users.setSourceGrants(
      user.id,
      ADMIN_SOURCE,
      {
        ...(patch.adminRoles !== undefined ? { roles: patch.adminRoles ?? [] } : {}),
        ...(patch.adminPermissions !== undefined ? { permissions: patch.adminPermissions ?? [] } : {}),
      },
      { actor },
    );
    if (!r) throw new GatewayError('user_not_found', 404, 'There is no user with this id or usercode.');
  }
  if (patch.lifecycle !== undefined) {
    const r = await ctx.users.setLifecycle(user.id, patch.lifecycle as Lifecycle, { actor, source: ADMIN_SOURCE });
    if (!r) throw new GatewayError('user_not_found', 404, 'There is no user with this id or usercode.');
  }
  return resolveUser(ctx, user.id);
}

async function patchProfile(ctx: GatewayContext, user: UserRecord, patch: Patch, fields: ProfileField[], actor: string): Promise<void> {
  const changed = await ctx.db.knex.transaction(async (trx) => {
    const row = (await trx('users').where({ id: user.id }).forUpdate().first()) as Record<string, unknown> | undefined;
    if (!row) throw new GatewayError('user_not_found', 404, 'There is no user with this id or usercode.');
    const columns: Record<string, unknown> = {};
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    for (const f of fields) {
      const col = PROFILE_COLUMNS[f];
      const raw = patch[f as keyof Patch] as string | string[] | null;
      const next = f === 'tags' ? [...new Set((raw as string[] | null) ?? [])] : raw;
      const prev = f === 'tags' ? (typeof row[col] === 'string' ? JSON.parse(row[col] as string) : (row[col] ?? [])) : (row[col] ?? null);
      if (JSON.stringify(prev) === JSON.stringify(next)) continue;
      columns[col] = f === 'tags' ? JSON.stringify(next) : next;
      before[f] = prev;
      after[f] = next;
    }
    if (Object.keys(columns).length === 0) return false;
    const at = new Date(ctx.now());
    await trx('users')
      .where({ id: user.id })
      .update({ ...columns, version: trx.raw('version + 1'), updated_at: at });
    await recordAudit(trx, {
      type: 'profile_change',
      userId: user.id,
      usercode: user.usercode,
      actor,
      source: ADMIN_SOURCE,
      at,
      detail: { fields: Object.keys(after), before, after },
    });
    return true;
  });
  if (changed) await ctx.bus.publish({ kind: 'user', id: user.id });
}

/** Hard delete (grants, identities, sessions and stored login claims go with it); the audit trail stays. */
export async function deleteUser(ctx: GatewayContext, user: UserRecord, actor: string): Promise<void> {
  await ctx.db.knex.transaction(async (trx: Q) => {
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
  await ctx.bus.publish({ kind: 'user', id: user.id });
}
