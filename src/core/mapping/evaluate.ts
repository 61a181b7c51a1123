import type { CompiledMapping } from './compile.js';
import { evaluateNameRules } from './name-rules.js';
import type { EvaluateOptions } from './absence.js';
import { joinPath } from './paths.js';
import { run, type RunResult } from './run.js';
import type { ProfileField } from './schema.js';
import type { Claims, DesiredUser, MappingOutcome, TraceEntry } from './types.js';
import { addUnique, ignoredDetail, isEmailAddress, toScalar, toStringList } from './values.js';
import { dict } from '../own-keys.js';

/** Longest usercode accepted; a longer one is treated as missing rather than truncated into another user's key. */
export const MAX_USERCODE_LENGTH = 256;

const MATCH_MESSAGE = 'Sign-in refused by the mapping rule match';
const USERCODE_MESSAGE = 'Sign-in refused: the token does not identify a user (the mapping found no usercode)';

type Denial = Extract<MappingOutcome, { allowed: false }>;

function deny(code: Denial['code'], message: string, rule: string, trace: TraceEntry[]): Denial {
  return { allowed: false, code, message, rule, trace };
}

/**
 * Applies a compiled mapping to verified claims (docs/mapping-language.md). Pure: no I/O, the claims are read and never copied
 * or modified, and it never throws — any claims shape yields an outcome.
 *
 * Order: `match`, then each `require` (the first failure denies), then `usercode`, profile fields, roles,
 * permissions and attributes. `match` and `require` pass only when the expression yields exactly `true`
 * (not merely a truthy value), so `require: email_verified` with `"email_verified": "false"` cannot let a login
 * through; write comparisons (`email_verified == \`true\``) or wrap with `!!`. A runtime error denies there,
 * empties a field or attribute, and makes a `when` rule add nothing; each is recorded in the trace.
 */
export function evaluateMapping(m: CompiledMapping, claims: Claims, opts: EvaluateOptions = {}): MappingOutcome {
  const trace: TraceEntry[] = [];
  try {
    return evaluate(m, claims, trace, opts);
  } catch (e) {
    // Not reachable by design (every expression runs through run()); fail closed if it ever is.
    trace.push({ path: '(mapping)', outcome: 'error', detail: e instanceof Error ? e.message : String(e) });
    return deny('login_denied', 'Sign-in refused: the mapping could not be applied', '(mapping)', trace);
  }
}

function evaluate(m: CompiledMapping, claims: Claims, trace: TraceEntry[], opts: EvaluateOptions): MappingOutcome {
  if (m.match) {
    const result = run(m.match, claims);
    if (!result.ok) {
      trace.push({ path: 'match', outcome: 'error', detail: result.error });
      return deny('login_denied', MATCH_MESSAGE, 'match', trace);
    }
    if (result.value !== true) {
      trace.push({ path: 'match', outcome: 'denied', values: result.value, detail: 'match did not yield true' });
      return deny('login_denied', MATCH_MESSAGE, 'match', trace);
    }
    trace.push({ path: 'match', outcome: 'allowed' });
  }

  for (let i = 0; i < m.require.length; i++) {
    const rule = m.require[i]!;
    const path = `require[${i}]`;
    const result = run(rule.expr, claims);
    if (!result.ok) {
      trace.push({ path, outcome: 'error', detail: result.error });
      return deny('login_denied', rule.message, path, trace);
    }
    if (result.value !== true) {
      trace.push({ path, outcome: 'denied', values: result.value, detail: rule.message });
      return deny('login_denied', rule.message, path, trace);
    }
    trace.push({ path, outcome: 'allowed' });
  }

  const usercode = evaluateUsercode(m, claims, trace);
  if (usercode === null) return deny('usercode_missing', USERCODE_MESSAGE, 'user.usercode', trace);

  const profile: DesiredUser['profile'] = {};
  for (const { field, expr } of m.profile) {
    const value = evaluateField(field, run(expr, claims), trace);
    if (value !== undefined) profile[field] = value;
  }

  const roles = evaluateNameRules(m.roles, claims, 'roles', trace, opts);
  const permissions = evaluateNameRules(m.permissions, claims, 'permissions', trace, opts);

  const attributes = dict<string[]>();
  for (const { name, expr } of m.attributes) {
    attributes[name] = evaluateAttribute(joinPath('attributes', name), run(expr, claims), trace);
  }

  const user: DesiredUser = { usercode, profile, sync: { ...m.sync }, roles, permissions, attributes };
  return { allowed: true, user, trace };
}

/** The usercode a mapping gives these claims (null when none), whatever its match and require rules decide. */
export function usercodeOf(m: CompiledMapping, claims: Claims): string | null {
  return evaluateUsercode(m, claims, []);
}

function evaluateUsercode(m: CompiledMapping, claims: Claims, trace: TraceEntry[]): string | null {
  const path = 'user.usercode';
  const result = run(m.usercode, claims);
  if (!result.ok) {
    trace.push({ path, outcome: 'error', detail: result.error });
    return null;
  }
  const { value } = result;
  // Booleans are not identifiers: `true` as a usercode would merge every such login into one user.
  const converted = typeof value === 'boolean' ? { error: 'expected a string, got boolean' } : toScalar(value);
  if (converted.error) {
    trace.push({ path, outcome: 'error', detail: `${m.usercode.source}: ${converted.error}` });
    return null;
  }
  if (converted.value === undefined) {
    trace.push({ path, outcome: 'empty', detail: `${m.usercode.source} yielded nothing` });
    return null;
  }
  if (converted.value.length > MAX_USERCODE_LENGTH) {
    trace.push({ path, outcome: 'error', detail: `usercode longer than ${MAX_USERCODE_LENGTH} characters` });
    return null;
  }
  trace.push({ path, outcome: 'produced', values: converted.value });
  return converted.value;
}

function evaluateField(field: ProfileField, result: RunResult, trace: TraceEntry[]): string | string[] | undefined {
  const path = `user.${field}`;
  if (!result.ok) {
    trace.push({ path, outcome: 'error', detail: result.error });
    return undefined;
  }
  if (field === 'tags') {
    if (result.value === null) {
      trace.push({ path, outcome: 'empty' });
      return undefined;
    }
    const list = toStringList(result.value, false);
    if (list.error) {
      trace.push({ path, outcome: 'error', detail: `${field}: ${list.error}` });
      return undefined;
    }
    const tags: string[] = [];
    addUnique(tags, new Set(), list.values);
    trace.push({ path, outcome: 'produced', values: tags, ...(list.ignored ? { detail: ignoredDetail(list.ignored) } : {}) });
    return tags;
  }
  const converted = toScalar(result.value);
  if (converted.error) {
    trace.push({ path, outcome: 'error', detail: `${field}: ${converted.error}` });
    return undefined;
  }
  if (converted.value === undefined) {
    trace.push({ path, outcome: 'empty' });
    return undefined;
  }
  if (field === 'email' && !isEmailAddress(converted.value)) {
    trace.push({ path, outcome: 'error', detail: 'email: not a single address (exactly one "@", no spaces)' });
    return undefined;
  }
  trace.push({ path, outcome: 'produced', values: converted.value });
  return converted.value;
}


function evaluateAttribute(path: string, result: RunResult, trace: TraceEntry[]): string[] {
  if (!result.ok) {
    trace.push({ path, outcome: 'error', detail: result.error });
    return [];
  }
  const list = toStringList(result.value, true);
  if (list.error) {
    trace.push({ path, outcome: 'error', detail: `${path}: ${list.error}` });
    return [];
  }
  const values: string[] = [];
  addUnique(values, new Set(), list.values);
  const detail = list.ignored ? ignoredDetail(list.ignored) : undefined;
  trace.push({ path, outcome: values.length ? 'produced' : 'empty', values, ...(detail ? { detail } : {}) });
  return values;
}
