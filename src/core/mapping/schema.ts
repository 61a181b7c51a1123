import { z } from 'zod';
import { ownRecord } from '../config/own-record.js';
import { dict } from '../own-keys.js';

/**
 * The shape of a claim mapping (docs/mapping-language.md). Expressions are JMESPath strings; their syntax is checked
 * when the mapping is compiled (src/core/mapping/compile.ts), which reports each error with its path.
 */

const expr = z.string().min(1, 'must be a JMESPath expression');
const name = z.string().min(1).max(200);
const names = z.union([name, z.array(name)], { error: 'must be a name or a list of names' }).transform((v) => (Array.isArray(v) ? v : [v]));

export const mapRuleSchema = z.strictObject({
  /** Expression yielding a string or an array of strings (e.g. `groups`). */
  from: expr,
  /** Exact value -> role name(s). Values not listed produce nothing. */
  map: ownRecord(z.string(), names),
  ignoreCase: z.boolean().default(false),
});

export const patternRuleSchema = z.strictObject({
  from: expr,
  /** ECMAScript regular expression, tested against each value; one rule may yield many roles. */
  pattern: z.string().min(1),
  /** Replacement template: `$1`, `$<name>`; defaults to the whole match. */
  to: names.optional(),
  ignoreCase: z.boolean().default(false),
});

export const whenRuleSchema = z.strictObject({
  /** Expression; truthy (JMESPath truthiness) adds the names. */
  when: expr,
  add: z.array(name).min(1),
});

export const defaultRuleSchema = z.strictObject({
  /** Added only when no other rule of this list produced anything. */
  default: z.array(name).min(1),
});

export type MapRule = z.output<typeof mapRuleSchema>;
export type PatternRule = z.output<typeof patternRuleSchema>;
export type WhenRule = z.output<typeof whenRuleSchema>;
export type DefaultRule = z.output<typeof defaultRuleSchema>;
export type NameRule = MapRule | PatternRule | WhenRule | DefaultRule;

/** Picks the rule form from its keys so errors speak of the form the author meant. */
export const nameRuleSchema = z.unknown().transform((value, ctx): NameRule => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'a rule must be an object with one of: map, pattern, when, default' });
    return z.NEVER;
  }
  const keys = Object.keys(value);
  const schema = keys.includes('map')
    ? mapRuleSchema
    : keys.includes('pattern')
      ? patternRuleSchema
      : keys.includes('when')
        ? whenRuleSchema
        : keys.includes('default')
          ? defaultRuleSchema
          : null;
  if (!schema) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown rule form (keys: ${keys.join(', ') || 'none'}); use {from, map}, {from, pattern, to}, {when, add} or {default}`,
    });
    return z.NEVER;
  }
  const parsed = (schema as z.ZodType<NameRule>).safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as (string | number)[] });
    }
    return z.NEVER;
  }
  return parsed.data;
});

/** User fields a mapping may set (docs/user-record.md, camelCase). `usercode` is required. */
export const MAPPABLE_USER_FIELDS = [
  'usercode',
  'email',
  'displayName',
  'firstName',
  'lastName',
  'idpSource',
  'idpReferenceId',
  'idpUsername',
  'idpWorkforceId',
  'idpCloudUsername',
  'userType',
  'tags',
] as const;
export type MappableUserField = (typeof MAPPABLE_USER_FIELDS)[number];
export type ProfileField = Exclude<MappableUserField, 'usercode'>;

export const SYNC_MODES = ['always', 'onCreate', 'never'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

const userFieldsShape = Object.fromEntries(
  MAPPABLE_USER_FIELDS.map((f) => [f, f === 'usercode' ? expr : expr.optional()]),
) as { usercode: typeof expr } & { [K in ProfileField]: z.ZodOptional<typeof expr> };

const syncShape = Object.fromEntries(
  MAPPABLE_USER_FIELDS.filter((f) => f !== 'usercode').map((f) => [f, z.enum(SYNC_MODES).optional()]),
) as { [K in ProfileField]: z.ZodOptional<z.ZodEnum<{ always: 'always'; onCreate: 'onCreate'; never: 'never' }>> };

export const mappingSchema = z.strictObject({
  /** Optional guard: false (or an error) refuses the login with `login_denied`. */
  match: expr.optional(),
  /** Every expression must be true, else the login is denied with the rule's message. */
  require: z
    .array(z.strictObject({ expr, message: z.string().min(1).max(500).optional() }))
    .default([]),
  user: z.strictObject(userFieldsShape),
  roles: z.array(nameRuleSchema).default([]),
  permissions: z.array(nameRuleSchema).default([]),
  /** Attribute name -> expression yielding a string or array of strings. */
  attributes: ownRecord(z.string().min(1).max(200), expr).default(() => dict<never>()),
  sync: z.strictObject(syncShape).default({}),
  /** Readable names of group ids (GUIDs) used in `map` tables, shown by `claimgate map` and the preview. */
  groupLabels: z.record(z.string().min(1).max(200), z.string().min(1).max(500)).optional(),
});

export type MappingDefinition = z.output<typeof mappingSchema>;
export type MappingInput = z.input<typeof mappingSchema>;
