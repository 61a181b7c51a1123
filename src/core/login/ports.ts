import type { LoginSyncInput, LoginSyncResult } from '../users/types.js';

/**
 * What the login pipeline needs from storage, declared here and implemented in store/ (the user store, the
 * jti table, the audit trail): the pipeline decides, the store writes. The composition root connects them.
 */

/** Creates or updates the local user a login maps to, in one transaction. */
export interface LoginUserSync {
  loginSync(input: LoginSyncInput): Promise<LoginSyncResult>;
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
