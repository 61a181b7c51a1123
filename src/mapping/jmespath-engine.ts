import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** A parsed JMESPath expression (the `jmespath` package's AST: plain objects). */
export type JmespathAst = { readonly type: string };

/** An expression compiled once; `source` is kept for the fallback evaluator and for messages. */
export interface CompiledExpression {
  readonly source: string;
  readonly ast: JmespathAst;
}

interface JmespathModule {
  compile(expression: string): JmespathAst;
  search(data: unknown, expression: string): unknown;
}

interface InterpreterModule extends JmespathModule {
  Runtime: new () => { _interpreter: unknown };
  TreeInterpreter: new (runtime: unknown) => { visit(node: JmespathAst, value: unknown): unknown };
}

const require = createRequire(import.meta.url);
const publicApi = require('jmespath') as JmespathModule;

/** The last line of jmespath 0.16's export block; the two internals are exported right after it. */
const EXPORT_ANCHOR = 'exports.strictDeepEqual = strictDeepEqual;';

/**
 * jmespath 0.16 exports `compile` (expression -> AST) but no way to evaluate an AST: `search()` re-parses the
 * expression and rebuilds its ~30-entry function table on every call (measured about 11x slower than visiting a
 * cached AST for a typical mapping). Its `TreeInterpreter` and `Runtime` are private to the package's closure, so
 * we evaluate the package's own file once with two more export lines: the same code, not a fork. Should a future
 * version move the anchor, this returns null and evaluation falls back to the public `search()` (same results,
 * slower); a test asserts the fast path is active so that change is noticed.
 */
function loadInterpreter(): ((ast: JmespathAst, data: unknown) => unknown) | null {
  try {
    const source = readFileSync(require.resolve('jmespath'), 'utf8');
    if (!source.includes(EXPORT_ANCHOR)) return null;
    const patched = source.replace(
      EXPORT_ANCHOR,
      `${EXPORT_ANCHOR} exports.TreeInterpreter = TreeInterpreter; exports.Runtime = Runtime;`,
    );
    const mod = {} as InterpreterModule;
    new Function('exports', patched)(mod);
    if (typeof mod.TreeInterpreter !== 'function' || typeof mod.Runtime !== 'function') return null;
    // Runtime and interpreter hold no per-call state, so one pair serves every evaluation.
    const runtime = new mod.Runtime();
    const interpreter = new mod.TreeInterpreter(runtime);
    runtime._interpreter = interpreter;
    return (ast, data) => interpreter.visit(ast, data);
  } catch {
    return null;
  }
}

const visit = loadInterpreter();

/** `interpreter` when compiled ASTs are evaluated directly, `search` when every call re-parses (fallback). */
export const jmespathEngine: 'interpreter' | 'search' = visit ? 'interpreter' : 'search';

/** Compiled ASTs by expression text; mappings share expressions (`groups`, `email`…) and are recompiled on edit. */
const cache = new Map<string, CompiledExpression>();
const CACHE_LIMIT = 10_000;

/**
 * Parses a JMESPath expression, once per distinct text. Throws the parser's error (a syntax error) unchanged.
 */
export function compileExpression(source: string): CompiledExpression {
  const hit = cache.get(source);
  if (hit) return hit;
  const compiled: CompiledExpression = { source, ast: publicApi.compile(source) };
  // Expressions come from administrators, not from tokens, so the cache only grows with edits; the limit keeps
  // a long-running process that saves many mapping versions bounded.
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(source, compiled);
  return compiled;
}

/**
 * Evaluates a compiled expression against `data` (never copied, never modified). Throws the JMESPath runtime
 * error (unknown function, wrong argument type…); callers turn it into a trace entry.
 */
export function evaluateExpression(expr: CompiledExpression, data: unknown): unknown {
  const value = visit ? visit(expr.ast, data) : publicApi.search(data, expr.source);
  return value === undefined ? null : value;
}

/** Functions of the JMESPath specification (as in jmespath 0.16) -> [minimum, maximum] argument count. */
const FUNCTION_ARITY: Readonly<Record<string, readonly [number, number]>> = {
  abs: [1, 1], avg: [1, 1], ceil: [1, 1], contains: [2, 2], ends_with: [2, 2], floor: [1, 1], join: [2, 2],
  keys: [1, 1], length: [1, 1], map: [2, 2], max: [1, 1], max_by: [2, 2], merge: [1, Infinity], min: [1, 1],
  min_by: [2, 2], not_null: [1, Infinity], reverse: [1, 1], sort: [1, 1], sort_by: [2, 2], starts_with: [2, 2],
  sum: [1, 1], to_array: [1, 1], to_number: [1, 1], to_string: [1, 1], type: [1, 1], values: [1, 1],
};

/**
 * Problems the parser lets through but every evaluation would hit: an unknown function name or a wrong number of
 * arguments (the parser accepts `lenght(groups)`; only evaluation says "Unknown function"). Catching them when the
 * mapping is loaded keeps a typo from silently denying every login.
 */
export function staticProblems(ast: JmespathAst): string[] {
  const problems: string[] = [];
  const walk = (node: JmespathAst & { name?: unknown; children?: unknown }): void => {
    if (node.type === 'Function' && typeof node.name === 'string') {
      const argc = Array.isArray(node.children) ? node.children.length : 0;
      const arity = Object.prototype.hasOwnProperty.call(FUNCTION_ARITY, node.name) ? FUNCTION_ARITY[node.name] : undefined;
      if (!arity) problems.push(`unknown function ${node.name}()`);
      else if (argc < arity[0] || argc > arity[1]) {
        const want = arity[1] === Infinity ? `at least ${arity[0]}` : String(arity[0]);
        problems.push(`${node.name}() takes ${want} argument${arity[0] === 1 ? '' : 's'}, not ${argc}`);
      }
    }
    if (Array.isArray(node.children)) {
      for (const child of node.children) if (child && typeof child === 'object') walk(child as JmespathAst);
    }
  };
  walk(ast);
  return problems;
}

/** The public `search()`, for tests that compare both evaluators. */
export function searchUncached(data: unknown, source: string): unknown {
  return publicApi.search(data, source);
}

/** JMESPath truthiness: false, null, "", [] and {} are false; everything else (0 included) is true. */
export function isTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') {
    for (const key in value) if (Object.prototype.hasOwnProperty.call(value, key)) return true;
    return false;
  }
  return true;
}
