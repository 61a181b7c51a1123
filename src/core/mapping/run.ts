import { evaluateExpression, type CompiledExpression } from './jmespath-engine.js';
import type { Claims } from './types.js';

/** The result of one expression: its value, or the runtime error it raised. Never throws. */
export type RunResult = { ok: true; value: unknown } | { ok: false; error: string };

/** Evaluates an expression, turning a JMESPath runtime error (or anything else thrown) into a value. */
export function run(expr: CompiledExpression, claims: Claims): RunResult {
  try {
    return { ok: true, value: evaluateExpression(expr, claims) };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { ok: false, error: `${expr.source}: ${message.slice(0, 300)}` };
  }
}
