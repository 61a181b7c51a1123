import { TreeInterpreter, TYPE_ANY, TYPE_NUMBER, TYPE_STRING, type compile, type JSONValue } from '@jmespath-community/jmespath';

type ExpressionNode = ReturnType<typeof compile>;

/**
 * Mappings were written against jmespath.js 0.16. The community implementation follows its newer specification in
 * a few places where the results differ; rewriting the parsed tree (and replacing six functions) keeps
 * every saved mapping returning exactly what it returned before. docs/mapping-engine-notes.md lists each case.
 */

/** An AST node of @jmespath-community/jmespath (plain objects; the package does not export the node type). */
export type AstNode = { readonly type: string; readonly [key: string]: unknown };

/**
 * Internal function names the lexer cannot produce (an identifier has no ':'), so no mapping can call them.
 */
const ORDER = 'claimgate:order';

const runtime = TreeInterpreter.runtime;

type Operator = 'GT' | 'GTE' | 'LT' | 'LTE';

/** jmespath.js compared any two values with JavaScript's operators ('2024-01' < '2024-02' is true, not null). */
function order([op, a, b]: (JSONValue | ExpressionNode)[]): JSONValue {
  const x = a as never;
  const y = b as never;
  switch (op as Operator) {
    case 'GT':
      return x > y;
    case 'GTE':
      return x >= y;
    case 'LT':
      return x < y;
    case 'LTE':
      return x <= y;
  }
  return null;
}

let installed = false;

/** Registers the internal function and the jmespath.js versions of six built-in functions, once. */
export function installCompatFunctions(): void {
  if (installed) return;
  installed = true;
  // override: a second copy of this module (a test runner's fresh module registry) may meet a library instance
  // that already has them.
  runtime.registerFunction(ORDER, order, [{ types: [TYPE_ANY] }, { types: [TYPE_ANY] }, { types: [TYPE_ANY] }], { override: true });
  // jmespath.js counted, reversed and ordered strings by UTF-16 code units; the community version uses code
  // points (and a record whose key is falsy, like 0, was still the max_by/min_by result). Claims with
  // characters outside the BMP (emoji in a display name) would otherwise change results.
  const legacy: Record<'length' | 'reverse' | 'sort' | 'sort_by' | 'max_by' | 'min_by', Legacy> = {
    length: ([v], original) => (typeof v === 'string' ? v.length : original([v])),
    reverse: ([v], original) => (typeof v === 'string' ? v.split('').reverse().join('') : original([v])),
    sort: ([v]) => [...(v as JSONValue[])].sort(),
    sort_by: (args, original) => sortBy(args, original),
    max_by: (args) => extremeBy(args, (current, best) => current > best, -Infinity),
    min_by: (args) => extremeBy(args, (current, best) => current < best, Infinity),
  };
  for (const [name, implementation] of Object.entries(legacy)) {
    const original = runtime._functionTable[name];
    runtime.registerFunction(name, (args) => implementation(args, (a) => original._func(a)), original._signature, {
      override: true,
    });
  }
}

type Legacy = (args: (JSONValue | ExpressionNode)[], original: (args: (JSONValue | ExpressionNode)[]) => JSONValue) => JSONValue;

/** sort_by with string keys compared by code units, as jmespath.js did; number keys are left to the library. */
function sortBy(args: (JSONValue | ExpressionNode)[], original: (a: (JSONValue | ExpressionNode)[]) => JSONValue): JSONValue {
  const [array, expref] = args as [JSONValue[], ExpressionNode];
  if (array.length === 0) return original(args);
  const keyOf = runtime.createKeyFunction(expref, [TYPE_NUMBER, TYPE_STRING]);
  if (typeof keyOf(array[0]) !== 'string') return original(args);
  const keyString = runtime.createKeyFunction(expref, [TYPE_STRING]);
  const keyed = array.map((item, index) => ({ item, index, key: keyString(item) as string }));
  keyed.sort((a, b) => (a.key > b.key ? 1 : a.key < b.key ? -1 : a.index - b.index));
  return keyed.map((k) => k.item);
}

function extremeBy(args: (JSONValue | ExpressionNode)[], better: (current: never, best: never) => boolean, start: number): JSONValue {
  const [array, expref] = args as [JSONValue[], ExpressionNode];
  const keyOf = runtime.createKeyFunction(expref, [TYPE_NUMBER, TYPE_STRING]);
  let best: unknown = start;
  let record: JSONValue | undefined;
  for (const item of array) {
    const current = keyOf(item);
    if (better(current as never, best as never)) {
      best = current;
      record = item;
    }
  }
  return record ?? null;
}

const node = (type: string, props: Record<string, unknown>): AstNode => ({ type, ...props });
const CURRENT = node('Current', {});
const NULL = node('Literal', { value: null });
const isNode = (v: unknown): v is AstNode => typeof v === 'object' && v !== null && typeof (v as AstNode).type === 'string';

/** `@ == null ? null : inner`: jmespath.js returned null for a multi-select list or hash applied to null. */
const unlessNull = (inner: AstNode): AstNode =>
  node('Ternary', { condition: node('Comparator', { name: 'NE', left: CURRENT, right: NULL }), trueExpr: inner, falseExpr: NULL });

/** jmespath.js sliced arrays only; a slice of a string was null. */
const unlessString = (inner: AstNode): AstNode =>
  node('Ternary', {
    condition: node('Comparator', {
      name: 'EQ',
      left: node('Function', { name: 'type', children: [CURRENT] }),
      right: node('Literal', { value: 'string' }),
    }),
    trueExpr: NULL,
    falseExpr: inner,
  });

/** Returns a copy of `ast` whose evaluation gives jmespath.js 0.16's results. */
export function toLegacySemantics(ast: AstNode): AstNode {
  // A literal's value is data, not a tree: `{"type": "Slice"}` must stay as written.
  if (ast.type === 'Literal') return ast;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(ast)) {
    if (isNode(value)) copy[key] = toLegacySemantics(value);
    else if (Array.isArray(value)) copy[key] = value.map((v: unknown) => (isNode(v) ? toLegacySemantics(v) : v));
    else copy[key] = value;
  }
  const rewritten = copy as AstNode;
  switch (rewritten.type) {
    case 'MultiSelectList':
    case 'MultiSelectHash':
      return unlessNull(rewritten);
    case 'Slice':
      return unlessString(rewritten);
    case 'Comparator':
      if (rewritten.name === 'EQ' || rewritten.name === 'NE') return rewritten;
      return node('Function', {
        name: ORDER,
        children: [node('Literal', { value: rewritten.name }), rewritten.left, rewritten.right],
      });
    default:
      return rewritten;
  }
}
