import type { Knex } from 'knex';

/**
 * `last_activity_at`: the day (UTC midnight) a user last signed in or was changed by SCIM, the sync API or
 * events. Day precision keeps sign-ins write-free after the first of the day.
 */
export function activityDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

/** True when a stored activity day is older than the day of `at` (or there is none). */
export function activityIsStale(stored: Date | string | null | undefined, at: Date): boolean {
  if (stored === null || stored === undefined) return true;
  return new Date(stored).getTime() < activityDay(at).getTime();
}

/**
 * Records provisioned activity inside the caller's transaction. The condition is in the statement, so a second
 * change the same day matches no row and writes nothing.
 */
export async function touchActivity(trx: Knex.Transaction, userId: string, at: Date): Promise<void> {
  const day = activityDay(at);
  await trx('users')
    .where({ id: userId })
    .where((q) => q.whereNull('last_activity_at').orWhere('last_activity_at', '<', day))
    .update({ last_activity_at: day });
}
