/** Server-side session state. The opaque id itself is never stored; `idHash` is. */
export interface Session {
  idHash: string;
  userId: string;
  issuerId: string | null;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  /** Login-method details kept for logout (OIDC id_token hint, sid). Never sent to the client. */
  data: SessionData;
}

export interface SessionData {
  idTokenHint?: string;
  sid?: string;
  refreshToken?: string;
  refreshedAt?: number;
}

/**
 * A new session whose row the sign-in's login statement writes, together with the user it belongs to (see
 * core/login/login-service.ts): its opaque id for the cookie, its state, and its row without user and issuer.
 */
export interface PendingSession {
  id: string;
  session: Omit<Session, 'userId' | 'issuerId'>;
  row: { idHash: string; createdAt: Date; lastSeenAt: Date; idleExpiresAt: Date; absoluteExpiresAt: Date; data: Partial<SessionData> };
}

/** What the authenticator needs from the session store (store/sessions.ts implements it). */
export interface SessionLiveness {
  /** Before its idle and absolute deadlines (a revoked session is not found at all). */
  isLive(s: Session): boolean;
  /** Extends the idle deadline; returns the session with its new deadline. */
  touch(s: Session): Promise<Session>;
}
