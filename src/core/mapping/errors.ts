import { GatewayError } from '../errors/errors.js';

/** One problem in a mapping: where (`mappings.corp.roles[1].pattern`), what, and how to fix it. */
export interface MappingProblem {
  path: string;
  message: string;
  hint?: string;
}

/**
 * A mapping cannot be used. Carries every problem at once (never only the first) so an author fixes a file in one
 * round; `extra.problems` puts them in the problem document of the admin API.
 */
export class MappingConfigError extends GatewayError {
  readonly problems: MappingProblem[];

  constructor(problems: MappingProblem[]) {
    const lines = problems.map((p) => `${p.path}: ${p.message}${p.hint ? ` (${p.hint})` : ''}`);
    super('mapping_invalid', `The mapping is invalid:\n${lines.join('\n')}`, { extra: { problems } });
    this.name = 'MappingConfigError';
    this.problems = problems;
  }
}
