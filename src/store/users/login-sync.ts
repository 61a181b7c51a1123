import type { Knex } from 'knex';
import { ulid } from 'ulid';
import { recordAudit } from '../audit-log.js';
import { GatewayError, TokenError } from '../../core/errors/errors.js';
import { planProfile } from './profile.js';
import type { UserRow } from './row.js';
import { applySourceGrants } from './source-grants.js';
import { activityDay, activityIsStale } from './activity.js';
import type { LoginSyncInput, UserChanges } from '../../core/users/types.js';
import { storableJson } from '../../core/users/text-rules.js';

type Trx = Knex.Transaction;

/** Thrown inside the transaction when a concurrent writer got in between: the caller retries once. */
export class RetryableConflict extends Error {
  constructor(what: string) {
    super(`concurrent change: ${what}`);
    this.name = 'RetryableConflict';
  }
}

export const identityConflict = () =>
  new GatewayError('identity_conflict', 'This account is already bound to another sign-in identity.');
const notProvisioned = () =>
  new GatewayError('user_not_provisioned', 'There is no account for you here yet. Ask an administrator to create one.');
const suspended = () => new GatewayError('user_suspended', 'This account is suspended.');

/** What the transaction decided; the store re-reads the user and notifies after commit. */
export interface LoginSyncOutcome {
  userId: string;
  created: boolean;
  /** The version was bumped (an existing user changed in a way the app sees). */
  bumped: boolean;
  changes: UserChanges;
}

export interface LoginSyncDeps {
  at: Date;
  /** last_login_at is rewritten only when older than this, so repeated logins stay write-free. */
  lastLoginPrecisionMs: number;
}

const byUsercode = (trx: Trx, usercode: string) => trx('users').whereRaw('lower(usercode) = lower(?)', [usercode]);

/**
 * The body of one login's create-or-update, inside one transaction (see UserStore.loginSync). Every
 * refusal throws before anything is written, and a throw rolls everything back anyway.
 *
 * Lookup order: the (iss, sub) binding first, then the usercode. Row locks (`FOR UPDATE`) on the user
 * serialise concurrent logins of one person; a first login inserts with `ON CONFLICT DO NOTHING` and
 * re-selects, so twenty simultaneous first logins create one user.
 */
export async function loginSyncTx(trx: Trx, input: LoginSyncInput, deps: LoginSyncDeps): Promise<LoginSyncOutcome> {
  const { desired } = input;
  const { at } = deps;
  if (!input.sub) throw new TokenError('token_malformed', 'The token has no subject (sub).');
  const usercode = desired.usercode;
  const changes: UserChanges = { profile: [] };
  const actor = `login:${input.issuerId}`;
  let created = false;
  let row: UserRow | undefined;

  const binding = (await trx('user_identities').where({ iss: input.iss, sub: input.sub }).first('user_id')) as
    | { user_id: string }
    | undefined;
  if (binding) row = (await trx('users').where({ id: binding.user_id }).forUpdate().first()) as UserRow | undefined;

  if (row) {
    if (row.lifecycle !== 'ACTIVE') throw suspended();
    if (row.usercode !== usercode) {
      // The IdP renamed the person: follow, unless the new usercode belongs to someone else.
      const other = await byUsercode(trx, usercode).whereNot('id', row.id).first('id');
      if (other) throw identityConflict();
      changes.renamedFrom = row.usercode;
    }
  } else {
    row = (await byUsercode(trx, usercode).forUpdate().first()) as UserRow | undefined;
    if (!row) {
      if (!input.createUsers) throw notProvisioned();
      const plan = planProfile(null, desired);
      const inserted = (await trx('users')
        .insert({
          id: ulid(),
          usercode,
          ...plan.columns,
          created_at: at,
          updated_at: at,
          last_login_at: at,
          last_activity_at: activityDay(at),
        })
        .onConflict()
        .ignore()
        .returning('*')) as UserRow[];
      row = inserted[0];
      if (row) {
        created = true;
        changes.profile = plan.fields;
      } else {
        // Someone else created it a moment ago (we waited for their commit): use theirs.
        row = (await byUsercode(trx, usercode).forUpdate().first()) as UserRow | undefined;
        if (!row) throw new RetryableConflict('user created and removed');
      }
    }
    if (!created) {
      const ids = (await trx('user_identities').where({ user_id: row.id }).select('iss', 'sub')) as { iss: string; sub: string }[];
      const mine = ids.some((i) => i.iss === input.iss && i.sub === input.sub);
      if (!mine && ids.length > 0 && !input.linkExistingUsers) throw identityConflict();
      if (row.lifecycle !== 'ACTIVE') throw suspended();
      if (!mine) {
        // Unbound (provisioned by SCIM, the sync API or events): this login claims it. Bound to another
        // identity: only reached with linkExistingUsers, which adds this one.
        changes.identityLinked = true;
        await bindIdentity(trx, row.id, input, at);
        await recordAudit(trx, {
          type: 'identity_linked',
          userId: row.id,
          usercode: row.usercode,
          actor,
          source: input.source,
          at,
          detail: { issuer: input.issuerId, iss: input.iss, sub: input.sub, claimed: ids.length === 0 },
        });
      }
    } else {
      await bindIdentity(trx, row.id, input, at);
      await recordAudit(trx, {
        type: 'user_created',
        userId: row.id,
        usercode: row.usercode,
        actor,
        source: input.source,
        at,
        detail: { issuer: input.issuerId, iss: input.iss, sub: input.sub, fields: changes.profile },
      });
    }
  }

  const user = row;
  let profileColumns: Record<string, unknown> = {};
  if (!created) {
    const plan = planProfile(user, desired);
    profileColumns = plan.columns;
    changes.profile = plan.fields;
    if (plan.fields.length || changes.renamedFrom !== undefined) {
      const fields = changes.renamedFrom !== undefined ? ['usercode', ...plan.fields] : plan.fields;
      await recordAudit(trx, {
        type: 'profile_change',
        userId: user.id,
        usercode,
        actor,
        source: input.source,
        at,
        detail: {
          fields,
          before: changes.renamedFrom !== undefined ? { usercode: user.usercode, ...plan.before } : plan.before,
          after: changes.renamedFrom !== undefined ? { usercode, ...plan.after } : plan.after,
        },
      });
    }
  }

  const grantChanges = await applySourceGrants(
    trx,
    { userId: user.id, usercode, source: input.source, actor, at, mapping: input.mapping },
    { roles: desired.roles, permissions: desired.permissions, attributes: desired.attributes },
  );
  Object.assign(changes, grantChanges);

  const bumped =
    !created &&
    (changes.profile.length > 0 || changes.renamedFrom !== undefined || !!changes.roles || !!changes.permissions || !!changes.attributes);
  const activity = !created && activityIsStale(user.last_activity_at, at) ? { last_activity_at: activityDay(at) } : {};
  if (bumped) {
    await trx('users')
      .where({ id: user.id })
      .update({
        ...profileColumns,
        ...(changes.renamedFrom !== undefined ? { usercode } : {}),
        version: trx.raw('version + 1'),
        updated_at: at,
        last_login_at: at,
        ...activity,
      });
  } else if (!created && loginIsStale(user.last_login_at, at, deps.lastLoginPrecisionMs)) {
    await trx('users').where({ id: user.id }).update({ last_login_at: at, ...activity });
  } else if (Object.keys(activity).length > 0) {
    await trx('users').where({ id: user.id }).update(activity);
  }

  if (input.claims) {
    await trx('login_claims').insert({ user_id: user.id, issuer_id: input.issuerId, at, claims: JSON.stringify(storableJson(input.claims)) });
  }
  return { userId: user.id, created, bumped, changes };
}

function loginIsStale(last: Date | string | null, at: Date, precisionMs: number): boolean {
  if (last === null) return true;
  const t = (last instanceof Date ? last : new Date(last)).getTime();
  return at.getTime() - t >= precisionMs || at.getTime() < t;
}

async function bindIdentity(trx: Trx, userId: string, input: LoginSyncInput, at: Date): Promise<void> {
  const rows = (await trx('user_identities')
    .insert({ user_id: userId, issuer_id: input.issuerId, iss: input.iss, sub: input.sub, created_at: at })
    .onConflict(['iss', 'sub'])
    .ignore()
    .returning('user_id')) as unknown[];
  // Bound to someone else between our lookup and now (a concurrent rename): start over.
  if (rows.length === 0) throw new RetryableConflict('identity bound concurrently');
}
