import type { Knex } from 'knex';
import type { Config } from '../../core/config/schema.js';
import type { UserRow } from '../../store/users/row.js';
import type { PushEvent } from './data.js';

export type EventsConfig = NonNullable<Config['provisioning']['events']>;

/** What an event handler works with: the transaction (a savepoint), the event and where to note changed users. */
export interface ApplyContext {
  trx: Knex.Transaction;
  event: PushEvent;
  at: Date;
  config: EventsConfig;
  /** Gateway user ids whose version was bumped: their caches are invalidated after commit. */
  changedUsers: Set<string>;
}

export type HandlerOutcome = { outcome: 'success' | 'skipped'; message: string };

export const SOURCE = 'events';

/** Users written before idp_source named the identity system carry the channel name instead. */
const LEGACY_IDP_SOURCE = 'events';

/** Whether the user's reference fields are the identity service's (configured name, or the legacy one). */
export function ownedByEvents(c: Pick<ApplyContext, 'config'>, idpSource: string | null): boolean {
  return idpSource !== null && (idpSource === c.config.idpSource || idpSource === LEGACY_IDP_SOURCE);
}
export const ACTOR = 'events';

export const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : null);

/**
 * Orders events per subject (a user, a unit, a group, one membership): an event older than the newest one
 * applied to its subject is skipped; equal times apply (one push may carry several events of one millisecond).
 * The subject row stays locked until the event's transaction ends, so concurrent pushes about one subject serialise.
 */
export async function claimSubject(
  c: ApplyContext,
  kind: string,
  subjectId: string,
): Promise<{ fresh: boolean; localId: string | null }> {
  await c.trx('event_subjects').insert({ kind, subject_id: subjectId, last_event_time: -1 }).onConflict(['kind', 'subject_id']).ignore();
  const row = (await c.trx('event_subjects').where({ kind, subject_id: subjectId }).forUpdate().first()) as
    | { last_event_time: string | number; local_id: string | null }
    | undefined;
  const last = Number(row?.last_event_time ?? -1);
  if (c.event.eventTime < last) return { fresh: false, localId: row?.local_id ?? null };
  await c.trx('event_subjects').where({ kind, subject_id: subjectId }).update({ last_event_time: c.event.eventTime, applied_at: c.at });
  return { fresh: true, localId: row?.local_id ?? null };
}

export async function setLocalUser(c: ApplyContext, idaasUserId: string, userId: string): Promise<void> {
  await c.trx('event_subjects').where({ kind: 'user', subject_id: idaasUserId }).update({ local_id: userId });
}

/** The gateway user of an identity-service user id, row-locked; null when none exists yet. */
export async function findLocalUser(c: ApplyContext, idaasUserId: string, localId?: string | null): Promise<UserRow | null> {
  let id = localId;
  if (id === undefined) {
    const s = (await c.trx('event_subjects').where({ kind: 'user', subject_id: idaasUserId }).first('local_id')) as { local_id: string | null } | undefined;
    id = s?.local_id ?? null;
  }
  const byId = id ? ((await c.trx('users').where({ id }).forUpdate().first()) as UserRow | undefined) : undefined;
  if (byId) return byId;
  const byRef = (await c
    .trx('users')
    .whereIn('idp_source', [c.config.idpSource, LEGACY_IDP_SOURCE])
    .andWhere({ idp_reference_id: idaasUserId })
    .forUpdate()
    .first()) as UserRow | undefined;
  return byRef ?? null;
}
