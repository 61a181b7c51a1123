import type { Problem } from './problems.js';
import { formatPath } from './problems.js';

const PATTERN = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` (unset is an error) and `${VAR:-default}` (unset or empty falls back) in every string of
 * a parsed YAML tree; `$$` stands for a literal `$`. Substitution happens after parsing, so a value cannot
 * change the document's structure (a secret containing `: ` or a newline stays one string).
 */
export function substituteEnv(
  tree: unknown,
  env: Record<string, string | undefined>,
): { value: unknown; problems: Problem[]; unset: { path: PropertyKey[]; name: string }[] } {
  const problems: Problem[] = [];
  const unset: { path: PropertyKey[]; name: string }[] = [];
  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') {
      if (!node.includes('$')) return node;
      return node.replace(PATTERN, (whole, name: string | undefined, fallback: string | undefined) => {
        if (whole === '$$') return '$';
        const v = env[name!];
        if (fallback !== undefined) return v === undefined || v === '' ? fallback : v;
        if (v === undefined) {
          unset.push({ path, name: name! });
          problems.push({
            path: formatPath(path),
            message: `environment variable ${name} is not set`,
            hint: `set ${name}, or write \${${name}:-default} for a fallback`,
          });
          return '';
        }
        return v;
      });
    }
    if (Array.isArray(node)) return node.map((v, i) => walk(v, [...path, i]));
    if (node && typeof node === 'object') {
      // fromEntries defines own keys, so a map key spelled `__proto__` survives instead of replacing the prototype.
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, [...path, k])]));
    }
    return node;
  };
  const value = walk(tree, []);
  return { value, problems, unset };
}

/**
 * `${VAR}` is not a valid plain scalar inside a YAML flow mapping (`{ secret: ${SESSION_SECRET} }` opens a
 * nested map), so every reference is swapped for an inert placeholder before parsing and put back into the
 * parsed strings afterwards; substitution itself still happens on the parsed tree.
 */
export function maskEnvRefs(text: string): { masked: string; restore: (tree: unknown) => unknown } {
  const refs: string[] = [];
  const tag = `cgenv${Math.random().toString(36).slice(2, 10)}x`;
  const masked = text.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}\n]*)?\}/g, (ref) => `${tag}${refs.push(ref) - 1}x`);
  if (refs.length === 0) return { masked: text, restore: (t) => t };
  const back = new RegExp(`${tag}(\\d+)x`, 'g');
  const unmask = (s: string) => s.replace(back, (_m, i: string) => refs[Number(i)]!);
  const restore = (node: unknown): unknown => {
    if (typeof node === 'string') return node.includes(tag) ? unmask(node) : node;
    if (Array.isArray(node)) return node.map(restore);
    if (node && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [unmask(k), restore(v)]));
    }
    return node;
  };
  return { masked, restore };
}

/**
 * YAML has no type for numbers from the environment: `port: ${PORT}` is the string "8080". Strings that
 * came from substitution and look like integers or booleans are converted where the schema wants them;
 * see coerce in load.ts.
 */
export const ENV_PATTERN = PATTERN;
