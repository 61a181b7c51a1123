import type { CompiledNameRule } from './compile.js';
import { isTruthy } from './jmespath-engine.js';
import { run } from './run.js';
import { expandTemplate } from './template.js';
import type { Claims, TraceEntry } from './types.js';
import { absenceDetail, type EvaluateOptions } from './absence.js';
import { addUnique, ignoredDetail, toStringList } from './values.js';

/** Names longer than the schema allows for hand-written names are dropped rather than stored. */
const MAX_NAME_LENGTH = 200;
/**
 * Longer claim values are not tested against patterns: group names are short, and the limit bounds the cost of an
 * unlucky (backtracking) pattern against a hostile value.
 */
const MAX_PATTERN_INPUT = 1024;

/**
 * Runs a `roles` or `permissions` list and returns its names, deduplicated in first-seen order. `default` rules
 * wherever they stand add their names only if no other rule of the list produced one. Appends one trace entry
 * per rule, in list order.
 */
export function evaluateNameRules(
  rules: readonly CompiledNameRule[],
  claims: Claims,
  list: 'roles' | 'permissions',
  trace: TraceEntry[],
  opts: EvaluateOptions = {},
): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  const entries: TraceEntry[] = new Array<TraceEntry>(rules.length);
  let hasDefault = false;
  rules.forEach((rule, i) => {
    if (rule.kind === 'default') hasDefault = true;
    else entries[i] = evaluateRule(rule, claims, `${list}[${i}]`, names, seen, opts);
  });
  if (hasDefault) {
    const produced = names.length > 0;
    rules.forEach((rule, i) => {
      if (rule.kind !== 'default') return;
      const path = `${list}[${i}]`;
      if (produced) entries[i] = { path, outcome: 'no-match', detail: 'other rules produced names' };
      else {
        addUnique(names, seen, rule.names);
        entries[i] = { path, outcome: 'default', values: [...rule.names] };
      }
    });
  }
  for (const entry of entries) trace.push(entry);
  return names;
}

function evaluateRule(
  rule: Exclude<CompiledNameRule, { kind: 'default' }>,
  claims: Claims,
  path: string,
  names: string[],
  seen: Set<string>,
  opts: EvaluateOptions,
): TraceEntry {
  if (rule.kind === 'when') {
    const result = run(rule.when, claims);
    if (!result.ok) return { path, outcome: 'error', detail: result.error };
    if (!isTruthy(result.value)) return { path, outcome: 'no-match' };
    addUnique(names, seen, rule.add);
    return { path, outcome: 'matched', values: [...rule.add] };
  }

  const result = run(rule.from, claims);
  if (!result.ok) return { path, outcome: 'error', detail: result.error };
  const input = toStringList(result.value, false);
  if (input.error) return { path, outcome: 'error', detail: `${rule.from.source}: ${input.error}` };

  const produced: string[] = [];
  let skipped = 0;
  const emit = (name: string): void => {
    if (name.length > MAX_NAME_LENGTH) skipped += 1;
    else if (name) produced.push(name);
  };
  for (const value of input.values) {
    if (rule.kind === 'map') {
      const mapped = rule.table.get(rule.ignoreCase ? value.toLowerCase() : value);
      if (mapped) mapped.forEach(emit);
    } else if (value.length > MAX_PATTERN_INPUT) {
      skipped += 1;
    } else {
      const match = rule.regex.exec(value);
      if (match && rule.to) for (const template of rule.to) emit(expandTemplate(template, match));
      else if (match) emit(match[0]);
    }
  }
  addUnique(names, seen, produced);

  const details: string[] = [];
  if (input.ignored) details.push(ignoredDetail(input.ignored));
  if (skipped) details.push(`skipped ${skipped} value(s) or name(s) over the length limit`);
  const detail = details.length ? details.join('; ') : undefined;
  if (produced.length > 0) return { path, outcome: 'produced', values: produced, ...(detail ? { detail } : {}) };
  if (input.values.length === 0 && !input.ignored) {
    const absent = absenceDetail(rule.from.source, claims, opts);
    return { path, outcome: 'empty', detail: absent ?? `${rule.from.source} yielded nothing` };
  }
  return { path, outcome: 'no-match', ...(detail ? { detail } : {}) };
}
