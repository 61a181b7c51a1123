import type { LoginSyncInput, LoginSyncResult } from '../users/types.js';

/**
 * What the login pipeline needs from storage, declared here and implemented in store/ (the user store, the
 * jti table, the audit trail): the pipeline decides, the store writes. The composition root connects them.
 */

/** Creates or updates the local user a login maps to, atomically. */
export interface LoginUserSync {
  loginSync(input: LoginSyncInput): Promise<LoginSyncResult>;
  /**
   * The user sync and the sign-in's other writes (`extras`) in one statement. A refusal is answered, not thrown: the
   * extras that go with it (the spent link, `login_denied`) are then written, and nothing of the user. Anything
   * thrown has written nothing at all.
   */
  signIn(input: LoginSyncInput, extras: LoginExtras): Promise<LoginSyncResult | { refused: LoginRefusal }>;
}

/** Why a sign-in's statement refused, having written nothing of the user. */
export type LoginRefusal = 'jti_replayed' | 'identity_conflict' | 'user_suspended' | 'user_not_provisioned';

/** What a sign-in writes in the statement of its user sync, so that it is one round trip. Each part is optional. */
export interface LoginExtras {
  /**
   * Spends a sign-in link first: its key (the jti, or `link:<hash>` for a link without one) in the single-use store
   * until `expiresAt`. With `once`, a key already spent refuses the sign-in (`jti_replayed`) and nothing else is written.
   */
  spend?: { issuerId: string; key: string; expiresAt: Date; once: boolean };
  /** A refusal of the user (403) is audited as `login_denied` with this purpose and time. */
  denied?: { purpose: string; at: Date };
  /** The new session's row (its user and issuer come from the sync) and the time of the `login` audit line. */
  session?: { row: SessionRowInput; auditAt: Date };
}

/** A sessions row without its user and issuer. */
export interface SessionRowInput {
  idHash: string;
  createdAt: Date;
  lastSeenAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  /** The data as stored (its tokens sealed). */
  data: object;
}

/** Single-use token ids (sign-in link jti, spent id_tokens), shared by every instance. */
export interface JtiLedger {
  /** Records the jti; false when it was already used (a replay). Atomic across instances. */
  consume(issuerId: string, jti: string, expiresAt: Date): Promise<boolean>;
  /** True when this jti was already consumed (and has not been purged since). */
  isUsed(issuerId: string, jti: string): Promise<boolean>;
}

/** A refused sign-in, as the audit trail records it. */
export interface LoginDeniedEvent {
  type: 'login_denied';
  usercode: string | null;
  actor: string;
  source: string;
  detail: object;
}

/** Appends a line to the audit trail. */
export type AuditWriter = (event: LoginDeniedEvent) => Promise<void>;
