import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { maskEnvRefs, substituteEnv } from './env.js';
import { validateConfig } from './validate.js';
import { ConfigError, formatPath, type Problem } from './problems.js';
import { validateMappingDocument } from '../mapping/index.js';

/** Where the configuration comes from: `--config`, else CLAIMGATE_CONFIG, else ./claimgate.yaml. */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.CLAIMGATE_CONFIG ?? 'claimgate.yaml');
}

/** Reads and validates a configuration file. Throws ConfigError (with `unreadable` for I/O or YAML errors). */
/**
 * What a command reads of the configuration: top-level keys (`database`, `issuers`…). An unset `${VAR}` outside
 * them is not an error for that command (`tokens list` needs no session secret); inside them it is.
 */
export type ConfigNeeds = readonly string[] | 'all';

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env, needs: ConfigNeeds = 'all'): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : 'cannot be read';
    throw new ConfigError([{ path: file, message: why, hint: 'pass --config FILE or set CLAIMGATE_CONFIG' }], true);
  }
  return parseConfigText(text, env, file, needs);
}

/** Parses YAML text, substitutes the environment, validates; every problem is reported at once. */
export function parseConfigText(text: string, env: NodeJS.ProcessEnv = process.env, source = 'config', needs: ConfigNeeds = 'all'): Config {
  const { masked, restore } = maskEnvRefs(text);
  const doc = YAML.parseDocument(masked, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        path: `${source}${e.linePos ? `:${e.linePos[0].line}:${e.linePos[0].col}` : ''}`,
        message: `YAML syntax error: ${e.message.split('\n')[0]}`,
      })),
      true,
    );
  }
  const raw = restore(doc.toJS() as unknown);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ path: '(root)', message: 'must be a YAML mapping (key: value pairs)' }], true);
  }
  return parseConfigObject(raw, env, needs);
}

/** Validates an already-parsed object (used by tests and embedding). */
export function parseConfigObject(raw: unknown, env: NodeJS.ProcessEnv = process.env, needs: ConfigNeeds = 'all'): Config {
  const substituted = substituteEnv(raw, env);
  const { value } = substituted;
  const needed = (path: PropertyKey[]) => needs === 'all' || needs.includes(String(path[0]));
  const problems = substituted.problems.filter((_p, i) => needed(substituted.unset[i]!.path));
  const stand = substituted.unset.filter((u) => !needed(u.path));
  if (stand.length > 0) fillUnneeded(value, stand);
  if (value && typeof value === 'object') {
    const v = value as Record<string, any>;
    if (env.PORT) v.listen = { ...(v.listen ?? {}), port: env.PORT };
    // DATABASE_URL is read by every command even when the file does not mention it.
    const db = v.database && typeof v.database === 'object' ? v.database : {};
    if (env.DATABASE_URL && db.url === undefined) v.database = { ...db, url: env.DATABASE_URL };
  }
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    // A value left empty by an unset variable is reported once, as the unset variable.
    const unset = new Set(problems.map((p) => p.path));
    const schemaProblems = parsed.error.issues
      .flatMap((issue) => zodIssueToProblems(issue))
      .filter((p) => ![...unset].some((u) => p.path === u || p.path.startsWith(`${u}[`)));
    throw new ConfigError([...problems, ...schemaProblems, ...expressionProblems(value, schemaProblems)]);
  }
  const all = [...problems, ...validateConfig(parsed.data)];
  if (all.length > 0) throw new ConfigError(all);
  return parsed.data;
}

/**
 * Values this command never reads, left unset in the environment, get a stand-in that satisfies the schema
 * (tried in turn: empty, a long string, a URL, a number), so the rest of the file can be validated and used.
 */
const STAND_INS: unknown[] = ['', 'x'.repeat(64), 'http://unset.invalid', 1];

function fillUnneeded(value: unknown, unset: { path: PropertyKey[] }[]): void {
  const setAt = (path: PropertyKey[], v: unknown) => {
    let node = value as Record<PropertyKey, unknown>;
    for (const k of path.slice(0, -1)) node = node[k as string] as Record<PropertyKey, unknown>;
    node[path[path.length - 1] as string] = v;
  };
  const key = (path: PropertyKey[]) => formatPath(path);
  const pending = new Map(unset.map((u) => [key(u.path), { path: u.path, next: 0 }]));
  for (const p of pending.values()) setAt(p.path, STAND_INS[p.next++]);
  for (let round = 1; round < STAND_INS.length && pending.size > 0; round++) {
    const parsed = configSchema.safeParse(value);
    const failing = new Set(parsed.success ? [] : parsed.error.issues.map((i) => formatPath(i.path)));
    for (const [k, p] of pending) {
      if (!failing.has(k)) pending.delete(k);
      else setAt(p.path, STAND_INS[p.next++]);
    }
  }
}

/**
 * Expression errors (bad JMESPath or regex) are found by compiling a mapping, which normally happens after the
 * schema passed. So that one run reports everything, mappings without schema problems are compiled here too.
 */
function expressionProblems(value: unknown, found: Problem[]): Problem[] {
  const mappings = (value as { mappings?: unknown } | null)?.mappings;
  if (!mappings || typeof mappings !== 'object' || Array.isArray(mappings)) return [];
  const out: Problem[] = [];
  for (const [name, doc] of Object.entries(mappings)) {
    const base = formatPath(['mappings', name]);
    if (found.some((p) => p.path === base || p.path.startsWith(`${base}.`) || p.path.startsWith(`${base}[`))) continue;
    out.push(...validateMappingDocument(doc, base).problems);
  }
  return out;
}

/** Turns a zod issue into `path: message (hint)` lines a platform engineer can act on. */
export function zodIssueToProblems(issue: z.core.$ZodIssue, base = ''): Problem[] {
  const path = formatPath(issue.path, base);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({
        path: formatPath([...issue.path, k], base),
        message: 'unknown key',
        hint: 'remove it or fix its spelling; see docs/configuration.md',
      }));
    case 'invalid_type':
      if (/received undefined/.test(issue.message)) {
        return [{ path, message: 'is required', hint: `add it (${issue.expected})` }];
      }
      return [{ path, message: `must be ${article(issue.expected)}`, hint: issue.message.replace(/^Invalid input: /, '') }];
    case 'invalid_value':
      return [{ path, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` }];
    case 'invalid_union': {
      // Report the branch that matched the value's type (a too-short string, not "expected array").
      const branch = issue.errors.find((errs) => errs.length > 0 && !errs.some((e) => e.code === 'invalid_type' && e.path.length === 0));
      if (branch) return branch.flatMap((e) => zodIssueToProblems({ ...e, path: [...issue.path, ...e.path] }, base));
      return [{ path, message: issue.message }];
    }
    case 'too_small':
      return [{ path, message: issue.origin === 'array' ? `must have at least ${issue.minimum} item(s)` : issue.message }];
    default:
      return [{ path, message: issue.message }];
  }
}

function article(t: string): string {
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}
