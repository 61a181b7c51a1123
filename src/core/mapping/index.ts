/**
 * Claim mappings (docs/mapping-language.md): claims -> desired user state, with a trace explaining every decision.
 * Pure functions, no I/O; persisting the desired state is the user store's job (src/store/users/).
 */
export { compileMapping, defaultRequireMessage, type CompiledMapping, type CompiledNameRule } from './compile.js';
export { validateMappingDocument } from './validate.js';
export { evaluateMapping, usercodeOf, MAX_USERCODE_LENGTH } from './evaluate.js';
export { MappingConfigError, type MappingProblem } from './errors.js';
export type { CompiledExpression } from './jmespath-engine.js';
export {
  mappingSchema,
  MAPPABLE_USER_FIELDS,
  SYNC_MODES,
  type MappingDefinition,
  type MappingInput,
  type NameRule,
  type ProfileField,
  type SyncMode,
} from './schema.js';
export type { Claims, DesiredUser, MappingOutcome, TraceEntry } from './types.js';
export type { EvaluateOptions } from './absence.js';
