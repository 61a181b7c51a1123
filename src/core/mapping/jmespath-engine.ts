import { compile, TreeInterpreter, type JSONValue } from '@jmespath-community/jmespath';
import { installCompatFunctions, toLegacySemantics, type AstNode } from './jmespath-compat.js';

/** A parsed JMESPath expression (@jmespath-community/jmespath's AST: plain objects). */
export type JmespathAst = AstNode;

/** An expression compiled once; `source` is kept for messages, `ast` as parsed (for static checks). */
export interface CompiledExpression {
  readonly source: string;
  readonly ast: JmespathAst;
  /** The tree that is evaluated: `ast` rewritten to keep the results mappings had with jmespath.js 0.16. */
  readonly program: JmespathAst;
}

installCompatFunctions();

/** `` `foo` `` (a literal that is not JSON) meant the string "foo" in jmespath.js; saved mappings rely on it. */
const PARSE_OPTIONS = { enable_legacy_literals: true };

/** Compiled expressions by text; mappings share expressions (`groups`, `email`…) and are recompiled on edit. */
const cache = new Map<string, CompiledExpression>();
const CACHE_LIMIT = 10_000;

/**
 * Parses a JMESPath expression, once per distinct text. Throws the parser's error (a syntax error) unchanged.
 */
export function compileExpression(source: string): CompiledExpression {
  const hit = cache.get(source);
  if (hit) return hit;
  const ast = compile(source, PARSE_OPTIONS) as unknown as JmespathAst;
  const compiled: CompiledExpression = { source, ast, program: toLegacySemantics(ast) };
  // Expressions come from administrators, not from tokens, so the cache only grows with edits; the limit keeps
  // a long-running process that saves many mapping versions bounded.
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(source, compiled);
  return compiled;
}

type Program = Parameters<typeof TreeInterpreter.search>[0];

/**
 * Evaluates a compiled expression against `data` (never copied, never modified). Throws the JMESPath runtime
 * error (unknown function, wrong argument type…); callers turn it into a trace entry.
 */
export function evaluateExpression(expr: CompiledExpression, data: unknown): unknown {
  const value = TreeInterpreter.search(expr.program as unknown as Program, (data ?? null) as JSONValue);
  return value === undefined ? null : value;
}

const functionTable = TreeInterpreter.runtime._functionTable;

/** [minimum, maximum] argument count of a function, from the signature the runtime checks calls against. */
function arity(name: string): readonly [number, number] | undefined {
  if (name.includes(':') || !Object.hasOwn(functionTable, name)) return undefined;
  const signature = functionTable[name]._signature;
  let min = 0;
  let max = signature.length;
  for (const arg of signature) {
    if (arg.variadic) max = Infinity;
    if (!arg.optional) min += 1;
  }
  return [min, max];
}

/**
 * Problems the parser lets through but every evaluation would hit: an unknown function name or a wrong number of
 * arguments (the parser accepts `lenght(groups)`; only evaluation says "Unknown function"). Catching them when the
 * mapping is loaded keeps a typo from silently denying every login.
 */
export function staticProblems(ast: JmespathAst): string[] {
  const problems: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const node = value as JmespathAst;
    if (node.type === 'Literal') return;
    if (node.type === 'Function' && typeof node.name === 'string') {
      const argc = Array.isArray(node.children) ? node.children.length : 0;
      const range = arity(node.name);
      if (!range) problems.push(`unknown function ${node.name}()`);
      else if (argc < range[0] || argc > range[1]) {
        const want =
          range[1] === Infinity ? `at least ${range[0]}` : range[0] === range[1] ? String(range[0]) : `${range[0]} to ${range[1]}`;
        problems.push(`${node.name}() takes ${want} argument${range[1] === 1 ? '' : 's'}, not ${argc}`);
      }
    }
    for (const key of Object.keys(node)) if (key !== 'type') walk(node[key]);
  };
  walk(ast);
  return problems;
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
