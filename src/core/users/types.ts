import type { DesiredUser } from '../mapping/types.js';
import type { ProfileField } from '../mapping/schema.js';

/** The attribute holding the vendor's `userExpirationDate` (ISO 8601); the deletion job suspends past it. */
export const EXPIRATION_ATTRIBUTE = 'userExpirationDate';

export type Lifecycle = 'ACTIVE' | 'SUSPENDED' | 'DEPROVISIONED';
export type UserType = 'PERSON' | 'SERVICE';
export const LIFECYCLES: readonly Lifecycle[] = ['ACTIVE', 'SUSPENDED', 'DEPROVISIONED'];

/** One entry of `status`, e.g. `{ name: 'PROFILE_SYNC', status: 'OK', at }`. */
export interface UserStatusEntry {
  name: string;
  status: string;
  detail?: string;
  /** RFC 3339. */
  at: string;
}

/** A role or permission with the source that granted it (`mapping:<issuer>`, `scim`, `api`, `events`, `admin`). */
export interface Grant {
  name: string;
  source: string;
}

/** The values one source gives an attribute. */
export interface AttributeGrant {
  source: string;
  values: string[];
}

/** An (issuer, sub) the user is bound to (docs/user-record.md: identity binding). */
export interface UserIdentity {
  issuerId: string;
  iss: string;
  sub: string;
  createdAt: string;
}

/**
 * The stored user (docs/user-record.md) in camelCase. Times are RFC 3339 strings (UTC). Roles and permissions
 * are one entry per (name, source), sorted by name then source; `attributes` maps each attribute name to
 * what each source gives it, e.g. `{ region: [{ source: 'mapping:corp', values: ['EU'] }] }`.
 */
export interface UserRecord {
  id: string;
  usercode: string;
  lifecycle: Lifecycle;
  status: UserStatusEntry[];
  idpSource: string | null;
  idpReferenceId: string | null;
  idpUsername: string | null;
  idpWorkforceId: string | null;
  idpCloudUsername: string | null;
  displayName: string | null;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  userType: UserType;
  tags: string[];
  roles: Grant[];
  permissions: Grant[];
  attributes: Record<string, AttributeGrant[]>;
  identities: UserIdentity[];
  /** Bumped by every change the app can see (profile, grants, lifecycle). */
  version: number;
  suspendedAt: string | null;
  deprovisionedAt: string | null;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
  /** Day of the last sign-in or provisioning change (UTC midnight); null before the first. */
  lastActivityAt: string | null;
}

/**
 * What the hot path needs to authorise a request: the union of every source's grants. A user that is not
 * ACTIVE gets no roles, permissions or attributes here (docs/jobs.md: recorded grants grant nothing unless
 * the user is ACTIVE); callers refuse such users anyway.
 */
export interface UserAuthState {
  userId: string;
  usercode: string;
  lifecycle: Lifecycle;
  version: number;
  email: string | null;
  displayName: string | null;
  /** Sorted, unique. */
  roles: string[];
  permissions: string[];
  /** Attribute -> sorted unique values over all sources. */
  attributes: Record<string, string[]>;
}

/** Added and removed names of one kind for one source. */
export interface NameChanges {
  before: string[];
  after: string[];
  added: string[];
  removed: string[];
}

/** Attribute changes of one source. */
export interface AttributeChanges {
  before: Record<string, string[]>;
  after: Record<string, string[]>;
  /** Names whose values were added, changed or removed. */
  changed: string[];
}

/** What one write did to a user. Empty lists/undefined mean "nothing of that kind". */
export interface UserChanges {
  /** Profile fields written (on create: the fields set from the mapping). */
  profile: ProfileField[];
  roles?: NameChanges;
  permissions?: NameChanges;
  attributes?: AttributeChanges;
  /** The previous usercode when a bound identity brought a new one. */
  renamedFrom?: string;
  /** An (iss, sub) bound to the user by this login (claim of an unbound user, or linkExistingUsers). */
  identityLinked?: boolean;
}

/** Input of {@link UserStore.loginSync}. */
export interface LoginSyncInput {
  issuerId: string;
  /** Exact `iss` of the verified token. */
  iss: string;
  sub: string;
  desired: DesiredUser;
  /** The mapping's grant source, `mapping:<issuerId>`. */
  source: string;
  /** False: only users provisioned beforehand may sign in (`user_not_provisioned`). */
  createUsers: boolean;
  /** True: a user bound to another (iss, sub) may be joined by this one instead of `identity_conflict`. */
  linkExistingUsers: boolean;
  /** Verified claims kept in login_claims for mapping previews (never the token itself). */
  claims?: object;
  /** Which mapping decided the grants, for the audit trail: its version (null: the file's) and the rules per name. */
  mapping?: GrantOrigin;
}

/** Where a mapping's grants came from: recorded with each role_change so "why has X this role" has an answer. */
export interface GrantOrigin {
  version: number | null;
  /** Role/permission name -> the mapping rules that produced it, e.g. `{ admin: ['roles[0]'] }`. */
  rules: { roles: Record<string, string[]>; permissions: Record<string, string[]> };
}

export interface LoginSyncResult {
  user: UserRecord;
  created: boolean;
  /** True when anything the app sees changed (the version was bumped). */
  changed: boolean;
  changes: UserChanges;
}

/** The grants one source gives a user; an omitted kind is left as it is. */
export interface SourceGrants {
  roles?: string[];
  permissions?: string[];
  attributes?: Record<string, string[]>;
}
