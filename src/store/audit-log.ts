import type { Knex } from 'knex';
import { storableJson } from '../core/users/text-rules.js';

/**
 * Audit event types written today. `role_change` covers roles, permissions and attributes
 * (detail `{ kind, source, before, after, added, removed }`); `profile_change` lists the changed fields.
 */
export type AuditType =
  | 'login'
  | 'login_denied'
  | 'user_created'
  | 'role_change'
  | 'profile_change'
  | 'identity_linked'
  | 'lifecycle_change'
  | (string & {});

/** An `audit_events` row as the database returns it (ids are bigints: a string from pg, a number from PGlite). */
export interface AuditRow {
  id: string | number;
  at: Date | string;
  type: string;
  user_id: string | null;
  usercode: string | null;
  actor: string | null;
  source: string | null;
  detail: unknown;
}

/** One line of the audit trail. Never put a token, secret or cookie in `detail`. */
export interface AuditEvent {
  type: AuditType;
  userId?: string | null;
  usercode?: string | null;
  /** Who did it: `user` for a login, a credential name, `admin:<name>`, `job:<name>`. */
  actor?: string | null;
  /** Where the change came from: `mapping:<issuer>`, `scim`, `api`, `events`, `admin`. */
  source?: string | null;
  detail?: object;
  /** Defaults to now. */
  at?: Date;
}

/**
 * Appends an event. Pass the transaction that made the change so the trail and the change commit
 * (or roll back) together.
 */
export async function recordAudit(q: Knex | Knex.Transaction, event: AuditEvent): Promise<void> {
  await q('audit_events').insert({
    at: event.at ?? new Date(),
    type: event.type,
    user_id: event.userId ?? null,
    usercode: event.usercode ?? null,
    actor: event.actor ?? null,
    source: event.source ?? null,
    detail: JSON.stringify(storableJson(event.detail ?? {})),
  });
}
