import { Compiler, type CompiledNameRule } from '../mapping/compile.js';
import { MappingConfigError } from '../mapping/errors.js';
import { evaluateNameRules } from '../mapping/name-rules.js';
import type { NameRule, ProfileField } from '../mapping/schema.js';
import type { Claims, TraceEntry } from '../mapping/types.js';

/** A JSON value as a SCIM client sends it. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** The enterprise extension's schema URN (RFC 7643 section 4.3). */
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** provisioning.scim.groupRoles: group displayName or externalId → role(s). */
export type GroupRoles = Record<string, string | string[]>;

/** The roles one group grants: provisioning.scim.groupRoles keyed by its displayName or externalId (any case). */
export function rolesOfGroup(groupRoles: GroupRoles, displayName: string, externalId: string | null): string[] {
  const out = new Set<string>();
  const wanted = [displayName, externalId].filter((k): k is string => !!k).map((k) => k.toLowerCase());
  for (const [key, roles] of Object.entries(groupRoles)) {
    if (!wanted.includes(key.toLowerCase())) continue;
    for (const r of Array.isArray(roles) ? roles : [roles]) out.add(r);
  }
  return [...out];
}

/** `provisioning.scim.userRoles`, compiled once; problems are reported with their configuration path. */
export function compileUserRoles(rules: readonly NameRule[], path = 'provisioning.scim.userRoles'): CompiledNameRule[] {
  const c = new Compiler();
  const compiled = c.nameRules(rules, path);
  if (c.problems.length) throw new MappingConfigError(c.problems);
  return compiled;
}

/**
 * The roles the rules give a SCIM User resource as the client sent it (app-role `roles[].value`,
 * `entitlements[].value`, the enterprise extension under its URN), with the rules' trace.
 */
export function rolesOfResource(rules: readonly CompiledNameRule[], resource: JsonObject): { roles: string[]; trace: TraceEntry[] } {
  const trace: TraceEntry[] = [];
  if (!rules.length) return { roles: [], trace };
  return { roles: evaluateNameRules(rules, resource as Claims, 'roles', trace), trace };
}

/** The enterprise extension attributes claimgate reads. */
export const ENTERPRISE_FIELDS = ['employeeNumber', 'department', 'costCenter', 'organization', 'division', 'manager'] as const;
export type EnterpriseField = (typeof ENTERPRISE_FIELDS)[number];

/**
 * Where each enterprise attribute goes unless configured otherwise: the employee number is the workforce id,
 * the rest become user attributes of the same name (granted by source `scim`).
 */
export const DEFAULT_ENTERPRISE_TARGETS: Record<EnterpriseField, string | null> = {
  employeeNumber: 'idpWorkforceId',
  department: 'attributes.department',
  costCenter: 'attributes.costCenter',
  organization: 'attributes.organization',
  division: 'attributes.division',
  manager: 'attributes.manager',
};

export interface EnterpriseValues {
  profile: Partial<Record<ProfileField, string | null>>;
  attributes: Record<string, string[]>;
}

/**
 * The profile fields and attributes the enterprise extension of `doc` gives, per `targets` (a profile field name,
 * `attributes.<name>`, or null to ignore). Attributes are replaced as a whole (source `scim`), so a PUT or PATCH
 * that removes one is followed; a profile field is only written when the document has a value (another source
 * may own it otherwise).
 */
export function enterpriseValues(doc: JsonObject, targets: Record<EnterpriseField, string | null>): EnterpriseValues {
  const ext = doc[ENTERPRISE_SCHEMA];
  const src = ext && typeof ext === 'object' && !Array.isArray(ext) ? (ext as JsonObject) : {};
  const out: EnterpriseValues = { profile: {}, attributes: {} };
  for (const field of ENTERPRISE_FIELDS) {
    const target = targets[field];
    if (!target) continue;
    const raw = Object.hasOwn(src, field) ? src[field] : undefined;
    // manager is a complex attribute: its `value` (the manager's id), else its displayName.
    const v =
      raw && typeof raw === 'object' && !Array.isArray(raw)
        ? ((raw as JsonObject).value ?? (raw as JsonObject).displayName)
        : raw;
    const value = typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : null;
    if (target.startsWith('attributes.')) {
      if (value !== null) out.attributes[target.slice('attributes.'.length)] = [value];
    } else if (value !== null) out.profile[target as ProfileField] = value;
  }
  return out;
}
