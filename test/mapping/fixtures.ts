import { expect } from '@jest/globals';
import {
  validateMappingDocument,
  evaluateMapping,
  type CompiledMapping,
  type Claims,
  type DesiredUser,
  type MappingInput,
  type MappingOutcome,
} from '../../src/core/mapping/index.js';

/** Compiles a mapping document, failing the test with its problems if it does not compile. */
export function compile(input: Omit<MappingInput, 'user'> & { user?: MappingInput['user'] }): CompiledMapping {
  const { mapping, problems } = validateMappingDocument({ user: { usercode: 'sub' }, ...input }, 'm');
  expect(problems).toEqual([]);
  return mapping!;
}

/** Evaluates and insists the login was allowed. */
export function allowed(m: CompiledMapping, claims: Claims): DesiredUser & { trace: MappingOutcome['trace'] } {
  const outcome = evaluateMapping(m, claims);
  if (!outcome.allowed) throw new Error(`expected an allowed login, got ${outcome.code} at ${outcome.rule}`);
  return { ...outcome.user, trace: outcome.trace };
}

/** The trace entry at `path`. */
export function traceAt(outcome: { trace: MappingOutcome['trace'] }, path: string) {
  const entry = outcome.trace.find((e) => e.path === path);
  if (!entry) throw new Error(`no trace entry ${path} in ${JSON.stringify(outcome.trace)}`);
  return entry;
}
