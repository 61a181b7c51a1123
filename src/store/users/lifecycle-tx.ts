import type { Knex } from 'knex';
import { recordAudit } from '../audit-log.js';
import type { UserRow } from './row.js';
import type { Lifecycle } from '../../core/users/types.js';

/**
 * The lifecycle move of {@link UserStore.setLifecycle} inside a caller's transaction (event receiver, deletion
 * job), so the move commits together with the caller's other writes (an event receipt, the removal of grants).
 * The caller holds the row lock (`row` read FOR UPDATE) and notifies after commit. Leaving ACTIVE ends the user's
 * sessions; the version bump invalidates cached state everywhere. Returns false when nothing changed.
 */
export async function setLifecycleTx(
  trx: Knex.Transaction,
  row: UserRow,
  lifecycle: Lifecycle,
  ctx: { at: Date; actor: string | null; source: string | null; detail?: object },
): Promise<boolean> {
  if (row.lifecycle === lifecycle) return false;
  await trx('users')
    .where({ id: row.id })
    .update({
      lifecycle,
      suspended_at: lifecycle === 'ACTIVE' ? null : (row.suspended_at ?? ctx.at),
      deprovisioned_at: lifecycle === 'DEPROVISIONED' ? ctx.at : null,
      version: trx.raw('version + 1'),
      updated_at: ctx.at,
    });
  const endedSessions =
    lifecycle === 'ACTIVE' ? 0 : await trx('sessions').where({ user_id: row.id }).whereNull('revoked_at').update({ revoked_at: ctx.at });
  await recordAudit(trx, {
    type: 'lifecycle_change',
    userId: row.id,
    usercode: row.usercode,
    actor: ctx.actor,
    source: ctx.source,
    at: ctx.at,
    detail: { before: row.lifecycle, after: lifecycle, endedSessions, ...ctx.detail },
  });
  return true;
}
