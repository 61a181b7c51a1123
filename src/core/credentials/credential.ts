import { createHash } from 'node:crypto';
import type { Scope } from './scopes.js';

/** A credential as the rest of the gateway sees it (never its secrets). */
export interface Credential {
  id: string;
  name: string;
  clientId: string;
  scopes: Scope[];
  createdBy: string | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** What `create` returns once: the secrets are never stored or shown again. */
export interface NewCredential {
  credential: Credential;
  /** Bearer token usable as is (`Authorization: Bearer cg_…`). */
  token: string;
  clientSecret: string;
}

/** Static bearer tokens start with this, so the API can tell them from JWTs without parsing. */
export const TOKEN_PREFIX = 'cg_';

export const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');

/** Names are how operators refer to credentials (`tokens revoke NAME`): short and plain. */
export const CREDENTIAL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What authenticating an API call needs from the credential store (store/credentials.ts implements it). */
export interface CredentialLookup {
  /** The credential a static bearer token belongs to, if live (not revoked, not expired). */
  findByToken(token: string): Promise<Credential | null>;
  /** Records a use (at most once a minute per credential). */
  touch(c: Credential): Promise<void>;
  /** Not revoked and not expired. */
  isLive(c: Credential): boolean;
}
