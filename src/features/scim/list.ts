import type { Knex } from 'knex';
import { DEFAULT_COUNT, MAX_RESULTS } from './deps.js';
import { parseFilter } from './filter-parse.js';
import { compileFilter, type FilterScope } from './filter-sql.js';
import { badRequest } from './scim-error.js';
import { LIST_SCHEMA } from './schema.js';
import type { JsonObject } from './values.js';

/** Paging parameters of a list or `.search` request (RFC 7644 section 3.4.2.4), 1-based. */
export interface ListParams {
  filter?: string;
  startIndex: number;
  count: number;
}

const int = (v: unknown, name: string): number | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : /^-?\d+$/.test(String(v).trim()) ? Number(String(v).trim()) : NaN;
  if (!Number.isInteger(n)) throw badRequest('invalidValue', `${name} must be an integer.`);
  return n;
};

export function listParams(source: Record<string, unknown>): ListParams {
  const filter = source.filter;
  if (filter !== undefined && typeof filter !== 'string') throw badRequest('invalidFilter', 'filter must be a string.');
  // RFC 7644: startIndex below 1 is read as 1; a negative count as 0; more than the maximum is cut down.
  const startIndex = Math.max(1, int(source.startIndex, 'startIndex') ?? 1);
  const count = Math.min(MAX_RESULTS, Math.max(0, int(source.count, 'count') ?? DEFAULT_COUNT));
  return { filter: filter === '' ? undefined : filter, startIndex, count };
}

/**
 * Runs one filtered, paged list in SQL: a COUNT for totalResults and one page ordered by id (ULIDs: stable,
 * creation order). `base` selects from the resource's tables; `select` adds the columns of a page.
 */
export async function pagedQuery<Row>(
  base: Knex.QueryBuilder,
  scope: FilterScope,
  params: ListParams,
  select: (q: Knex.QueryBuilder) => Knex.QueryBuilder,
  idColumn: string,
): Promise<{ total: number; rows: Row[] }> {
  if (params.filter !== undefined) {
    const compiled = compileFilter(parseFilter(params.filter), scope);
    base.whereRaw(compiled.sql, compiled.bindings);
  }
  const counted = (await base.clone().count({ n: '*' })) as { n: string | number }[];
  const total = Number(counted[0]?.n ?? 0);
  if (params.count === 0 || params.startIndex > total) return { total, rows: [] };
  const rows = (await select(base.clone())
    .orderBy(idColumn)
    .offset(params.startIndex - 1)
    .limit(params.count)) as Row[];
  return { total, rows };
}

export function listResponse(total: number, startIndex: number, resources: JsonObject[]): JsonObject {
  return { schemas: [LIST_SCHEMA], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}
