import { Compiler, type CompiledNameRule } from '../../core/mapping/compile.js';
import { MappingConfigError } from '../../core/mapping/errors.js';
import { evaluateNameRules } from '../../core/mapping/name-rules.js';
import type { NameRule, ProfileField } from '../../core/mapping/schema.js';
import type { Claims, TraceEntry } from '../../core/mapping/types.js';
import { ENTERPRISE_SCHEMA } from './schema.js';
import type { JsonObject } from './values.js';

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
