import scimFilter, { type Filter } from 'scim2-parse-filter';
import { badRequest } from './scim-error.js';

export type { Filter } from 'scim2-parse-filter';

/**
 * Bounds of one filter. Identity providers send short ones (`userName eq "x"`, `id eq "g" and members[value eq
 * "u"]`); a long chain of terms, each value path a sub-query, makes a plan PostgreSQL takes seconds to build, and a
 * few of those in parallel starve every other request of connections.
 */
export const FILTER_LIMITS = {
  /** Characters. */
  length: 2048,
  /** Comparisons (`eq`, `co`, `pr`…), inside value paths included. */
  terms: 20,
  /** Value paths (`members[value eq "…"]`): each one is a sub-query. */
  valuePaths: 2,
  /** Nesting of `and`/`or`/`not`/`[]`. */
  depth: 8,
} as const;

const tooBig = (what: string) =>
  badRequest('invalidFilter', `The filter is too large: at most ${what} (a filter may have ${FILTER_LIMITS.length} characters, ${FILTER_LIMITS.terms} comparisons, ${FILTER_LIMITS.valuePaths} value paths and a nesting depth of ${FILTER_LIMITS.depth}).`);

function checkSize(f: Filter): void {
  let terms = 0;
  let valuePaths = 0;
  const walk = (n: Filter, depth: number): void => {
    if (depth > FILTER_LIMITS.depth) throw tooBig(`a nesting depth of ${FILTER_LIMITS.depth}`);
    if (n.op === 'and' || n.op === 'or') for (const c of n.filters) walk(c, depth + 1);
    else if (n.op === 'not') walk(n.filter, depth + 1);
    else if (n.op === '[]') {
      if (++valuePaths > FILTER_LIMITS.valuePaths) throw tooBig(`${FILTER_LIMITS.valuePaths} value paths`);
      walk(n.valFilter, depth + 1);
    } else if (++terms > FILTER_LIMITS.terms) throw tooBig(`${FILTER_LIMITS.terms} comparisons`);
  };
  walk(f, 0);
}

/**
 * Parses a SCIM filter (RFC 7644 section 3.4.2.2) with scim2-parse-filter. That parser also reads Entra's
 * `emails[type eq "work"].value eq "x"` (beyond the RFC grammar), as `emails[type eq "work"] and
 * emails.value eq "x"`: the same users, since a claimgate user has one address. Any parse error, and a filter
 * past {@link FILTER_LIMITS}, is `400 invalidFilter`.
 */
export function parseFilter(text: string): Filter {
  if (text.length > FILTER_LIMITS.length) throw tooBig(`${FILTER_LIMITS.length} characters`);
  let parsed: Filter;
  try {
    parsed = scimFilter.parse(text.trim());
  } catch {
    throw badRequest('invalidFilter', 'The filter could not be parsed.');
  }
  checkSize(parsed);
  return parsed;
}
