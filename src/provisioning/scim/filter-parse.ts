import scimFilter, { type Filter } from 'scim2-parse-filter';
import { badRequest } from './scim-error.js';

export type { Filter } from 'scim2-parse-filter';

/** Longest filter accepted; IdPs send short ones, and this bounds the parser's work. */
const MAX_FILTER_LENGTH = 4096;

/**
 * Parses a SCIM filter (RFC 7644 section 3.4.2.2) with scim2-parse-filter. That parser also reads Entra's
 * `emails[type eq "work"].value eq "x"` (beyond the RFC grammar), as `emails[type eq "work"] and
 * emails.value eq "x"`: the same users, since a claimgate user has one address. Any parse error is
 * `400 invalidFilter`.
 */
export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw badRequest('invalidFilter', 'The filter is too long.');
  try {
    return scimFilter.parse(text.trim());
  } catch {
    throw badRequest('invalidFilter', 'The filter could not be parsed.');
  }
}
