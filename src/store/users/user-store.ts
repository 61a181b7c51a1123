import type { Knex } from 'knex';
import { GatewayError, TokenError } from '../../core/errors/errors.js';
import type { ProfileField } from '../../core/mapping/schema.js';
import { loginArgument, RetryableConflict, runLoginStatement } from './login-sync.js';
import { refusalError } from '../../core/login/refusals.js';
import type { LoginExtras, LoginRefusal } from '../../core/login/ports.js';
import { setLifecycleTx } from './lifecycle-tx.js';
import { createProvisionedUser, UsercodeTaken } from './user-writer.js';
import { selectAuthState, selectFullUserById, selectFullUserByUsercode } from './queries.js';
import { rowToRecord, type FullUserRow, type UserRow } from './row.js';
import { applySourceGrants } from './source-grants.js';
import type { Lifecycle, LoginSyncInput, LoginSyncResult, SourceGrants, UserAuthState, UserChanges, UserRecord } from '../../core/users/types.js';

export interface UserStoreOptions {
  /**
   * Called after every committed change that bumps a user's version (profile, grants, lifecycle), so the
   * caller can invalidate caches here and NOTIFY the other instances. Errors it throws are ignored.
   */
  onUserChanged?: (userId: string) => void;
  /** Clock (tests). */
  now?: () => number;
  /**
   * `last_login_at` is rewritten at most this often (default 60 s), so a returning login with unchanged
   * claims writes no users row. The value is therefore accurate to this precision.
   */
  lastLoginPrecisionMs?: number;
}

/** Errors worth one more attempt: a concurrent writer won a race (unique violation, serialization, deadlock). */
const RETRYABLE_SQLSTATES = new Set(['23505', '40001', '40P01']);
const isRetryable = (e: unknown) =>
  e instanceof RetryableConflict || (typeof e === 'object' && e !== null && RETRYABLE_SQLSTATES.has(String((e as { code?: unknown }).code)));

/**
 * The user store: create-or-update at login with grant sources, identity binding, lifecycle and change
 * detection (docs/mapping-language.md#sources, docs/user-record.md). Every write happens in one transaction; a write that changes nothing the
 * app sees writes nothing.
 */
export class UserStore {
  private readonly knex: Knex;
  private readonly lastLoginPrecisionMs: number;

  constructor(
    db: { knex: Knex },
    private readonly opts: UserStoreOptions = {},
  ) {
    this.knex = db.knex;
    this.lastLoginPrecisionMs = opts.lastLoginPrecisionMs ?? 60_000;
  }

  private at(): Date {
    return new Date(this.opts.now ? this.opts.now() : Date.now());
  }

  /**
   * Create-or-update of a login (one statement, see {@link signIn}; retried once when a concurrent login won a race).
   * Throws GatewayError `user_not_provisioned`, `identity_conflict` or `user_suspended` (403), having
   * written nothing. A SUSPENDED or DEPROVISIONED user is refused alike: a login never reactivates an
   * account (only SCIM, the sync API, events or an admin do).
   */
  async loginSync(input: LoginSyncInput): Promise<LoginSyncResult> {
    const answer = await this.signIn(input);
    if ('refused' in answer) throw refusalError(answer.refused);
    return answer;
  }

  /**
   * The login sync of {@link loginSync} and the sign-in's other writes (`extras`: the spent link, the
   * session, the audit lines) in ONE statement, `claimgate_login` (migrations/20261206000044_login_function.js):
   * one round trip, atomic. Lookup by (iss, sub) then usercode, the user row locked `FOR UPDATE` (concurrent logins
   * of one person wait for each other), a first login inserting with `ON CONFLICT DO NOTHING` (twenty simultaneous
   * first logins create one user); only what changed is written, so a returning login with unchanged claims writes
   * no users, grant, attribute or identity row. A refusal is answered, not thrown: the extras that go with a refusal
   * (the spent link, `login_denied`) are then committed, and nothing of the user is. Anything thrown
   * (a database error, `concurrent_update` after one retry) has written nothing at all.
   */
  async signIn(input: LoginSyncInput, extras: LoginExtras = {}): Promise<LoginSyncResult | { refused: LoginRefusal }> {
    if (!input.sub) throw new TokenError('token_malformed', 'The token has no subject (sub).');
    const answer = await this.retryOnce(() =>
      runLoginStatement(this.knex, loginArgument(input, this.at(), this.lastLoginPrecisionMs, extras)),
    );
    if (answer.refused !== undefined) return { refused: answer.refused };
    const user = rowToRecord(answer.user);
    if (answer.bumped) this.changed(user.id);
    return { user, created: answer.created, changed: answer.created || answer.bumped, changes: answer.changes };
  }

  async getById(id: string): Promise<UserRecord | null> {
    const row = await selectFullUserById(this.knex, id);
    return row ? rowToRecord(row) : null;
  }

  /** Case-insensitive, as usercodes are unique case-insensitively. */
  async getByUsercode(usercode: string): Promise<UserRecord | null> {
    const row = await selectFullUserByUsercode(this.knex, usercode);
    return row ? rowToRecord(row) : null;
  }

  /** The hot-path authorisation state (one query), or null for an unknown user. */
  async getAuthState(userId: string): Promise<UserAuthState | null> {
    return selectAuthState(this.knex, userId);
  }

  /**
   * Creates a user without any identity (SCIM, sync API, events): its first login claims it. Throws
   * GatewayError `usercode_taken` (409) when the usercode exists (case-insensitively).
   */
  async createUser(input: {
    usercode: string;
    profile?: Partial<Record<ProfileField, string | string[]>>;
    lifecycle?: Lifecycle;
    source: string;
    actor?: string | null;
  }): Promise<UserRecord> {
    const userId = await this.knex.transaction(async (trx) => {
      try {
        const r = await createProvisionedUser(trx, input.usercode, { profile: input.profile, lifecycle: input.lifecycle }, {
          source: input.source,
          actor: input.actor ?? null,
          at: this.at(),
        });
        return r.userId;
      } catch (e) {
        if (e instanceof UsercodeTaken) throw new GatewayError('usercode_taken', 'A user with this usercode already exists.');
        throw e;
      }
    });
    return this.mustLoad(this.knex, userId);
  }

  /**
   * Replaces what `source` grants the user (an omitted kind is left alone; other sources untouched).
   * Bumps the version and notifies only when something changed. Returns null for an unknown user.
   */
  async setSourceGrants(
    userId: string,
    source: string,
    grants: SourceGrants,
    opts: { actor?: string | null } = {},
  ): Promise<{ changed: boolean; changes: Omit<UserChanges, 'profile'> } | null> {
    const result = await this.inTransaction(async (trx) => {
      const row = await this.lock(trx, userId);
      if (!row) return null;
      const at = this.at();
      const changes = await applySourceGrants(trx, { userId, usercode: row.usercode, source, actor: opts.actor ?? null, at }, grants);
      const changed = !!(changes.roles || changes.permissions || changes.attributes);
      if (changed) await trx('users').where({ id: userId }).update({ version: trx.raw('version + 1'), updated_at: at });
      return { changed, changes };
    });
    if (result?.changed) this.changed(userId);
    return result;
  }

  /**
   * Moves a user to another lifecycle state (suspension, reactivation, deprovisioning), audited as
   * `lifecycle_change`. Grants are kept. Leaving ACTIVE ends every session of the user in the same transaction
   * (a reactivation restores the rights, not the old sessions: a session that outlived a suspension would be a way around it); the version bump invalidates the
   * cached sessions and authorisation state on every process. Returns null for an unknown user.
   */
  async setLifecycle(
    userId: string,
    lifecycle: Lifecycle,
    opts: { actor?: string | null; source?: string | null } = {},
  ): Promise<{ changed: boolean } | null> {
    const result = await this.inTransaction(async (trx) => {
      const row = await this.lock(trx, userId);
      if (!row) return null;
      const changed = await setLifecycleTx(trx, row, lifecycle, { at: this.at(), actor: opts.actor ?? null, source: opts.source ?? null });
      return { changed };
    });
    if (result?.changed) this.changed(userId);
    return result;
  }

  /** Keeps the newest `keep` login_claims rows per issuer (mapping previews need only recent logins). */
  async pruneLoginClaims(keep = 1000): Promise<number> {
    return this.knex('login_claims')
      .whereIn(
        'id',
        this.knex
          .select('id')
          .from(this.knex.raw('(SELECT id, row_number() OVER (PARTITION BY issuer_id ORDER BY at DESC, id DESC) AS n FROM login_claims) AS ranked'))
          .where('n', '>', keep),
      )
      .delete();
  }

  private async lock(trx: Knex.Transaction, userId: string): Promise<UserRow | undefined> {
    return (await trx('users').where({ id: userId }).forUpdate().first()) as UserRow | undefined;
  }

  private async mustLoad(q: Knex | Knex.Transaction, id: string): Promise<UserRecord> {
    const row: FullUserRow | undefined = await selectFullUserById(q, id);
    if (!row) throw new RetryableConflict('user vanished');
    return rowToRecord(row);
  }

  /** One transaction, retried once when a concurrent writer won a race. */
  private async inTransaction<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.retryOnce(() => this.knex.transaction(fn));
  }

  /** Runs `attempt` (a transaction, or one statement), once more when a concurrent writer won a race. */
  private async retryOnce<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (e) {
      if (!isRetryable(e)) throw e;
    }
    try {
      return await attempt();
    } catch (e) {
      if (isRetryable(e)) {
        throw new GatewayError('concurrent_update', 'The account changed at the same moment; please try again.', { cause: e });
      }
      throw e;
    }
  }

  private changed(userId: string): void {
    try {
      this.opts.onUserChanged?.(userId);
    } catch {
      // The change is committed; a failed notification is the bus's business (it reads through while down).
    }
  }
}
