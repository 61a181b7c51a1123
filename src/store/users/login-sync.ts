import type { Knex } from 'knex';
import { ulid } from '../../core/ids.js';
import { dict, own } from '../../core/own-keys.js';
import { normalizeProfileValue } from './profile.js';
import { PROFILE_COLUMNS, PROFILE_FIELDS, type FullUserRow } from './row.js';
import { activityDay } from './activity.js';
import type { LoginSyncInput, UserChanges } from '../../core/users/types.js';
import type { LoginExtras, LoginRefusal } from '../../core/login/ports.js';

/** A concurrent writer got in between (the login statement raises SQLSTATE 40001 for it): the caller retries once. */
export class RetryableConflict extends Error {
  constructor(what: string) {
    super(`concurrent change: ${what}`);
    this.name = 'RetryableConflict';
  }
}

/** What the statement answered. */
export type LoginAnswer =
  | { refused: LoginRefusal }
  | { refused?: undefined; user: FullUserRow; created: boolean; bumped: boolean; changes: UserChanges };

const sortedUnique = (values: Iterable<string>) => [...new Set(values)].sort();

/** A string as PostgreSQL stores it: NUL and lone surrogates (which jsonb refuses) become U+FFFD. */
function text(s: string): string {
  // Nearly every string is fine as it is: checked without copying.
  const clean = s.includes('\u0000') ? s.replaceAll('\u0000', '\ufffd') : s;
  return clean.isWellFormed() ? clean : clean.toWellFormed();
}

/** Every string of a value as PostgreSQL stores it (see {@link text}). */
function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return text(value);
  if (Array.isArray(value)) return value.map(wellFormed);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), wellFormed(v)]));
  return value;
}

/**
 * The argument of `claimgate_login(jsonb)` (migrations/20261206000044_login_function.js): the login as the mapping
 * decided it, with the profile fields already in their stored shape (sync mode `never` left out, `onCreate`
 * marked) and the grants sorted and unique, so the function only compares and writes.
 */
export function loginArgument(input: LoginSyncInput, at: Date, lastLoginPrecisionMs: number, extras: LoginExtras): string {
  const { desired } = input;
  const profile: { field: string; column: string; value: unknown; on_create: boolean }[] = [];
  for (const field of PROFILE_FIELDS) {
    const mode = desired.sync[field] ?? 'always';
    if (mode === 'never') continue;
    const value = normalizeProfileValue(field, desired.profile[field]);
    if (value === undefined) continue;
    profile.push({ field, column: PROFILE_COLUMNS[field], value, on_create: mode === 'onCreate' });
  }
  const attributes = dict<string[]>();
  for (const name of Object.keys(desired.attributes).sort()) attributes[name] = sortedUnique((own(desired.attributes, name) ?? []).map(String));
  const { spend, denied, session } = extras;
  return JSON.stringify(
    wellFormed({
        at,
        day: activityDay(at),
        login_precision_ms: lastLoginPrecisionMs,
        issuer_id: input.issuerId,
        iss: input.iss,
        sub: input.sub,
        usercode: desired.usercode,
        source: input.source,
        actor: `login:${input.issuerId}`,
        create_users: input.createUsers,
        link_existing: input.linkExistingUsers,
        new_id: ulid(),
        profile,
        roles: sortedUnique(desired.roles),
        permissions: sortedUnique(desired.permissions),
        attributes,
        ...(input.mapping ? { mapping: input.mapping } : {}),
        ...(input.claims ? { claims: input.claims } : {}),
        ...(spend ? { spend: { issuer_id: spend.issuerId, jti: spend.key, expires_at: spend.expiresAt, once: spend.once } } : {}),
            ...(denied ? { denied } : {}),
        ...(session
          ? {
              session: {
                id_hash: session.row.idHash,
                created_at: session.row.createdAt,
                last_seen_at: session.row.lastSeenAt,
                idle_expires_at: session.row.idleExpiresAt,
                absolute_expires_at: session.row.absoluteExpiresAt,
                data: session.row.data,
                audit_at: session.auditAt,
              },
            }
          : {}),
    }),
  );
}

/**
 * Runs one login's statement. PL/pgSQL prepares each statement inside the function once per connection and keeps
 * its plan, so a login parses and plans only this one-line call. (Not a named prepared statement: those do not
 * survive PgBouncer's transaction pooling.)
 */
export async function runLoginStatement(knex: Knex, argument: string): Promise<LoginAnswer> {
  const res = (await knex.raw('SELECT claimgate_login(?::jsonb) AS r', [argument])) as { rows: { r: LoginAnswer | string }[] };
  const r = res.rows[0]!.r;
  return typeof r === 'string' ? (JSON.parse(r) as LoginAnswer) : r;
}
