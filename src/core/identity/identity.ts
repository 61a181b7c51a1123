/** What the app learns about the signed-in user (docs/http-interface.md#forwarding-to-the-app-proxy-mode). */
export interface Identity {
  userId: string;
  usercode: string;
  email: string | null;
  displayName: string | null;
  roles: string[];
  permissions: string[];
  attributes: Record<string, string[]>;
  /** Bumped on every change of the user: keys the per-process caches of it. */
  version: number;
}

/** The authorisation state of a user, as cached per process. */
export interface AuthState extends Identity {
  lifecycle: 'ACTIVE' | 'SUSPENDED' | 'DEPROVISIONED';
}
