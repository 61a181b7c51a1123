import { MappingConfigError, type MappingProblem } from './errors.js';
import { explainSyntaxError } from './syntax-hints.js';
import { compileExpression, staticProblems, type CompiledExpression } from './jmespath-engine.js';
import { joinPath } from './paths.js';
import { MAPPABLE_USER_FIELDS, type MappingDefinition, type NameRule, type ProfileField, type SyncMode } from './schema.js';
import { compileTemplate, groupsOf, type CompiledTemplate } from './template.js';

/** A role or permission rule, ready to run: expressions parsed, regexes built, lookup tables indexed. */
export type CompiledNameRule =
  | { readonly kind: 'map'; readonly from: CompiledExpression; readonly table: ReadonlyMap<string, readonly string[]>; readonly ignoreCase: boolean }
  | { readonly kind: 'pattern'; readonly from: CompiledExpression; readonly regex: RegExp; readonly to: readonly CompiledTemplate[] | null }
  | { readonly kind: 'when'; readonly when: CompiledExpression; readonly add: readonly string[] }
  | { readonly kind: 'default'; readonly names: readonly string[] };

/** A mapping compiled once (at load or on save) and evaluated at every login. Immutable and shareable. */
export interface CompiledMapping {
  readonly definition: MappingDefinition;
  readonly match: CompiledExpression | null;
  readonly require: readonly { readonly expr: CompiledExpression; readonly message: string }[];
  readonly usercode: CompiledExpression;
  readonly profile: readonly { readonly field: ProfileField; readonly expr: CompiledExpression }[];
  readonly roles: readonly CompiledNameRule[];
  readonly permissions: readonly CompiledNameRule[];
  readonly attributes: readonly { readonly name: string; readonly expr: CompiledExpression }[];
  readonly sync: Readonly<Partial<Record<ProfileField, SyncMode>>>;
}

/** Default denial message of `require[n]` when the rule gives none. */
export const defaultRequireMessage = (index: number): string => `Sign-in refused by the mapping rule require[${index}]`;

/** True when the expression subtracts (the Arithmetic `Minus` node of @jmespath-community/jmespath). */
function hasSubtraction(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(hasSubtraction);
  if (typeof node !== 'object' || node === null) return false;
  const n = node as Record<string, unknown>;
  if (n.type === 'Literal') return false;
  if (n.type === 'Arithmetic' && n.operator === 'Minus') return true;
  return Object.keys(n).some((k) => k !== 'type' && hasSubtraction(n[k]));
}

const EXPRESSION_HINT = 'JMESPath (jmespath.org); quote claim names with dots, slashes or dashes: "https://vendor.example/claims/x"';
const PATTERN_HINT = 'ECMAScript regular expression, compiled with the u flag: escape literal . ( ) [ ] { } with a backslash';

/** Collects problems while compiling; `null` stands in for anything that failed. */
export class Compiler {
  readonly problems: MappingProblem[] = [];

  expression(source: string, path: string): CompiledExpression | null {
    let compiled: CompiledExpression;
    try {
      compiled = compileExpression(source);
    } catch (e) {
      const explained = explainSyntaxError(source);
      this.problems.push({ path, message: `invalid expression: ${explained ?? errorText(e)}`, hint: EXPRESSION_HINT });
      return null;
    }
    // `a-b` parses (JMESPath arithmetic) but is almost always a dashed claim name read as a subtraction, which
    // yields nothing at every login: refuse it with the fix, as a syntax error would be.
    const dashed = hasSubtraction(compiled.ast) ? explainSyntaxError(source) : null;
    if (dashed) {
      this.problems.push({ path, message: `invalid expression: ${dashed}`, hint: EXPRESSION_HINT });
      return null;
    }
    for (const message of staticProblems(compiled.ast)) this.problems.push({ path, message, hint: EXPRESSION_HINT });
    return compiled;
  }

  pattern(source: string, ignoreCase: boolean, path: string): RegExp | null {
    try {
      return new RegExp(source, ignoreCase ? 'iu' : 'u');
    } catch (e) {
      this.problems.push({ path, message: `invalid pattern: ${errorText(e)}`, hint: PATTERN_HINT });
      return null;
    }
  }

  templates(to: readonly string[], regex: RegExp, path: string): CompiledTemplate[] {
    const groups = groupsOf(regex);
    return to.map((template, i) => {
      const compiled = compileTemplate(template, groups.count, groups.names);
      for (const warning of compiled.warnings) {
        this.problems.push({ path: to.length > 1 ? `${path}[${i}]` : path, message: warning, hint: 'write $$ for a literal $' });
      }
      return compiled;
    });
  }

  nameRule(rule: NameRule, path: string): CompiledNameRule | null {
    if ('map' in rule) {
      const from = this.expression(rule.from, joinPath(path, 'from'));
      const table = new Map<string, string[]>();
      for (const [value, names] of Object.entries(rule.map)) {
        // With ignoreCase, keys differing only in case merge rather than one silently winning.
        const key = rule.ignoreCase ? value.toLowerCase() : value;
        table.set(key, [...new Set([...(table.get(key) ?? []), ...names])]);
      }
      return from && { kind: 'map', from, table, ignoreCase: rule.ignoreCase };
    }
    if ('pattern' in rule) {
      const from = this.expression(rule.from, joinPath(path, 'from'));
      const regex = this.pattern(rule.pattern, rule.ignoreCase, joinPath(path, 'pattern'));
      const to = regex && rule.to ? this.templates(rule.to, regex, joinPath(path, 'to')) : null;
      return from && regex && { kind: 'pattern', from, regex, to };
    }
    if ('when' in rule) {
      const when = this.expression(rule.when, joinPath(path, 'when'));
      return when && { kind: 'when', when, add: rule.add };
    }
    return { kind: 'default', names: rule.default };
  }

  nameRules(rules: readonly NameRule[], path: string): CompiledNameRule[] {
    const out: CompiledNameRule[] = [];
    rules.forEach((rule, i) => {
      const compiled = this.nameRule(rule, joinPath(path, i));
      if (compiled) out.push(compiled);
    });
    return out;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Compiles a schema-valid mapping: every JMESPath expression parsed once (and checked for unknown functions and
 * wrong argument counts), every pattern built as a `u` RegExp, every `to` template parsed against its pattern.
 *
 * @param def the mapping, as parsed by `mappingSchema`.
 * @param basePath prefix of problem paths, e.g. `mappings.corp` (empty: paths start at `roles[0]…`).
 * @throws MappingConfigError with every problem found, each with its path.
 */
export function compileMapping(def: MappingDefinition, basePath = ''): CompiledMapping {
  const c = new Compiler();
  const at = (...parts: PropertyKey[]): string => joinPath(basePath, ...parts);

  const match = def.match === undefined ? null : c.expression(def.match, at('match'));
  const require = def.require.map((r, i) => ({
    expr: c.expression(r.expr, at('require', i, 'expr')),
    message: r.message ?? defaultRequireMessage(i),
  }));
  const usercode = c.expression(def.user.usercode, at('user', 'usercode'));
  const profile: { field: ProfileField; expr: CompiledExpression | null }[] = [];
  for (const field of MAPPABLE_USER_FIELDS) {
    const source = def.user[field];
    if (field !== 'usercode' && source !== undefined) profile.push({ field, expr: c.expression(source, at('user', field)) });
  }
  const roles = c.nameRules(def.roles, at('roles'));
  const permissions = c.nameRules(def.permissions, at('permissions'));
  const attributes = Object.entries(def.attributes).map(([name, source]) => ({
    name,
    expr: c.expression(source, at('attributes', name)),
  }));

  if (c.problems.length > 0 || !usercode) throw new MappingConfigError(c.problems);
  return {
    definition: def,
    match,
    require: require as CompiledMapping['require'],
    usercode,
    profile: profile as CompiledMapping['profile'],
    roles,
    permissions,
    attributes: attributes as CompiledMapping['attributes'],
    sync: { ...def.sync },
  };
}
