import type { Knex } from 'knex';
import type { CompiledNameRule } from '../../core/mapping/compile.js';
import type { EnterpriseField } from '../../core/scim/user-roles.js';

/** What the SCIM services need (passed in, so tests can build them without Express). */
export interface ScimDeps {
  knex: Knex;
  /** Tells every process that a user's version changed (after commit). */
  publish: (userId: string) => void;
  now: () => number;
  /** provisioning.scim.groupRoles: group displayName or externalId → role(s). */
  groupRoles: Record<string, string | string[]>;
  /** provisioning.scim.allowedRoles: when set, only these roles may come from SCIM (groups or user rules). */
  allowedRoles?: string[];
  /** provisioning.scim.userRoles, compiled: roles from the User resource itself. */
  userRoles?: CompiledNameRule[];
  /** Where the enterprise extension's attributes go (defaults filled in). */
  enterprise?: Record<EnterpriseField, string | null>;
  /** provisioning.scim.idpSource: the identity system SCIM users come from (idp_source), if configured. */
  idpSource?: string;
  /** Absolute URL of `/scim/v2`, for `meta.location` and `$ref`. */
  baseUrl: string;
}

/** Largest `count` served in one page (ServiceProviderConfig filter.maxResults). */
export const MAX_RESULTS = 1000;
export const DEFAULT_COUNT = 100;
