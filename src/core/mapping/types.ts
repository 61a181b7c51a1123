import type { ProfileField, SyncMode } from './schema.js';

/** A claims object as verified by the trust map. */
export type Claims = Record<string, unknown>;

/** One line of the explanation: which rule produced what, or why something was skipped. */
export interface TraceEntry {
  /** Where the rule lives, e.g. `roles[1]`, `user.email`, `require[0]`, `match`. */
  path: string;
  /** What happened: `produced`, `matched`, `no-match`, `denied`, `error`, `default`, `empty`. */
  outcome: 'produced' | 'matched' | 'no-match' | 'denied' | 'error' | 'default' | 'empty' | 'allowed';
  /** Names produced (roles/permissions) or the value set (user fields, attributes). */
  values?: unknown;
  /** Human-readable detail (the expression's runtime error, the rule's message). */
  detail?: string;
}

/** The desired state of a user according to one mapping. Pure data; persisting it is the user store's job (src/store/users/). */
export interface DesiredUser {
  usercode: string;
  /**
   * Profile fields whose expression yielded a value. A field absent here yielded nothing (under `always`
   * the stored value is kept). `tags` is a string array, everything else a string.
   */
  profile: Partial<Record<ProfileField, string | string[]>>;
  /** Per-field sync mode (fields not listed: `always`). */
  sync: Partial<Record<ProfileField, SyncMode>>;
  roles: string[];
  permissions: string[];
  /** Attribute -> values (an expression yielding nothing gives an empty list). */
  attributes: Record<string, string[]>;
}

export type MappingOutcome =
  | { allowed: true; user: DesiredUser; trace: TraceEntry[] }
  | {
      allowed: false;
      /** `login_denied` for match/require failures; `usercode_missing` when usercode yields nothing usable. */
      code: 'login_denied' | 'usercode_missing';
      /** Safe to show the user (the rule's message). */
      message: string;
      /** The rule that denied, e.g. `require[0]`. */
      rule: string;
      trace: TraceEntry[];
    };
