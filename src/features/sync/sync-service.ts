import type { Knex } from 'knex';
import { createProvisionedUser, inProvisioningTx, updateProvisionedUser, UsercodeTaken, type WriteMeta } from '../../store/users/user-writer.js';
import { parseSyncUser, type SyncError, type SyncUser } from './user-input.js';
import { enforceTextRule, hasControlCharacter, TextRefused } from '../../core/users/text-rules.js';

export type SyncOutcome = 'created' | 'updated' | 'unchanged' | 'failed';

export interface SyncResult {
  index: number;
  usercode: string | null;
  id: string | null;
  outcome: SyncOutcome;
  errors: SyncError[];
}

export interface SyncDeps {
  knex: Knex;
  publish: (userId: string) => void;
  now: () => number;
  /** provisioning.api.allowedRoles: when set, the only roles this API may grant. */
  allowedRoles?: string[];
}

/** Most users in one request (docs/provisioning.md#sync-api); more is 413. */
export const MAX_SYNC_USERS = 1000;

/**
 * Create-or-update by usercode, one transaction per user, so one bad item fails alone. Roles, permissions and
 * attributes have source `api` and are replaced as a whole when given. Idempotent: an identical second call
 * finds nothing to change, answers `unchanged` and writes no row.
 */
export class UserSync {
  constructor(private readonly deps: SyncDeps) {}

  async sync(items: unknown[], actor: string | null): Promise<SyncResult[]> {
    const results: SyncResult[] = [];
    for (const [index, item] of items.entries()) results.push(await this.one(index, item, actor));
    return results;
  }

  private async one(index: number, item: unknown, actor: string | null): Promise<SyncResult> {
    const parsed = parseSyncUser(item);
    if (!parsed.ok) return { index, usercode: parsed.usercode, id: null, outcome: 'failed', errors: parsed.errors };
    const user = parsed.user;
    const refused = this.notAllowed(user);
    if (refused.length) return { index, usercode: user.usercode, id: null, outcome: 'failed', errors: refused };
    try {
      try {
        return await this.write(index, user, actor);
      } catch (e) {
        // Created by a concurrent call between our lookup and insert: it exists now, so this is an update.
        if (e instanceof UsercodeTaken) return await this.write(index, user, actor);
        throw e;
      }
    } catch (e) {
      // Refused before anything of this item was written; the other items go on.
      if (e instanceof TextRefused) {
        const errors = e.problems.map((p) => ({ field: p.field, code: 'invalid_characters', message: `${p.field} ${p.message}.` }));
        return { index, usercode: hasControlCharacter(user.usercode) ? null : user.usercode, id: null, outcome: 'failed', errors };
      }
      throw e;
    }
  }

  private notAllowed(user: SyncUser): SyncError[] {
    const allowed = this.deps.allowedRoles;
    if (!allowed || !user.grants.roles) return [];
    return user.grants.roles.flatMap((r, i) =>
      allowed.includes(r)
        ? []
        : [{ field: `${user.rolesField}[${i}]`, code: 'role_not_allowed', message: `The role "${r}" may not be granted by the sync API (provisioning.api.allowedRoles).` }],
    );
  }

  private async write(index: number, user: SyncUser, actor: string | null): Promise<SyncResult> {
    enforceTextRule({ usercode: user.usercode });
    const meta: WriteMeta = { source: 'api', actor, at: new Date(this.deps.now()) };
    return inProvisioningTx(this.deps.knex, this.deps.publish, async (trx, touched) => {
      const existing = (await trx('users').whereRaw('lower(usercode) = lower(?)', [user.usercode]).first('id', 'usercode', 'display_name')) as
        | { id: string; usercode: string; display_name: string | null }
        | undefined;
      // The readable usercode names a user that has no display name (and is given none here).
      const profile =
        user.displayNameFallback && !user.profile.displayName && !existing?.display_name
          ? { ...user.profile, displayName: user.displayNameFallback }
          : user.profile;
      // Every user the sync API writes carries the `api` tag beside its own.
      const changes = { profile, lifecycle: user.lifecycle, grants: user.grants, addTags: ['api'] };
      if (!existing) {
        const r = await createProvisionedUser(trx, user.usercode, changes, meta);
        return { index, usercode: user.usercode, id: r.userId, outcome: 'created' as const, errors: [] };
      }
      const r = await updateProvisionedUser(trx, existing.id, changes, meta);
      touched(r);
      return { index, usercode: existing.usercode, id: existing.id, outcome: r?.bumped ? ('updated' as const) : ('unchanged' as const), errors: [] };
    });
  }
}
