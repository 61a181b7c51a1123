import { compileMapping, Compiler, type CompiledMapping } from './compile.js';
import { MappingConfigError, type MappingProblem } from './errors.js';
import { joinPath } from './paths.js';
import { mappingSchema } from './schema.js';

type Loose = Record<string, unknown>;
const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * Validates a mapping document (from YAML or an admin API body) and compiles it. Returns every problem at once:
 * the schema's (unknown keys, wrong types, bad sync modes) and the expressions' and patterns' — the latter even
 * when the schema failed elsewhere, so an author sees all mistakes in one round.
 *
 * @param input the raw document.
 * @param basePath prefix of problem paths, e.g. `mappings.corp`.
 * @returns `mapping` when there is no problem.
 */
export function validateMappingDocument(
  input: unknown,
  basePath = '',
): { mapping?: CompiledMapping; problems: MappingProblem[] } {
  const parsed = mappingSchema.safeParse(input);
  if (parsed.success) {
    try {
      return { mapping: compileMapping(parsed.data, basePath), problems: [] };
    } catch (e) {
      if (e instanceof MappingConfigError) return { problems: e.problems };
      throw e;
    }
  }
  const problems: MappingProblem[] = parsed.error.issues.map((issue) => ({
    path: joinPath(basePath, ...issue.path) || '(root)',
    message: issue.message,
  }));
  problems.push(...rawExpressionProblems(input, basePath));
  return { problems };
}

/** Checks the expressions and patterns of a document the schema refused, wherever they are strings. */
function rawExpressionProblems(input: unknown, basePath: string): MappingProblem[] {
  const c = new Compiler();
  if (!isObject(input)) return c.problems;
  const at = (...parts: PropertyKey[]): string => joinPath(basePath, ...parts);
  if (nonEmpty(input.match)) c.expression(input.match, at('match'));
  if (Array.isArray(input.require)) {
    input.require.forEach((r, i) => {
      if (isObject(r) && nonEmpty(r.expr)) c.expression(r.expr, at('require', i, 'expr'));
    });
  }
  for (const [section, value] of [['user', input.user], ['attributes', input.attributes]] as const) {
    if (!isObject(value)) continue;
    for (const [key, expr] of Object.entries(value)) if (nonEmpty(expr)) c.expression(expr, at(section, key));
  }
  for (const list of ['roles', 'permissions'] as const) {
    const rules = input[list];
    if (!Array.isArray(rules)) continue;
    rules.forEach((rule, i) => {
      if (!isObject(rule)) return;
      if (nonEmpty(rule.from)) c.expression(rule.from, at(list, i, 'from'));
      if (nonEmpty(rule.when)) c.expression(rule.when, at(list, i, 'when'));
      const regex = nonEmpty(rule.pattern) ? c.pattern(rule.pattern, rule.ignoreCase === true, at(list, i, 'pattern')) : null;
      const to = typeof rule.to === 'string' ? [rule.to] : rule.to;
      if (regex && Array.isArray(to) && to.every((t) => typeof t === 'string')) c.templates(to, regex, at(list, i, 'to'));
    });
  }
  return c.problems;
}
