import type { Filter } from './filter-parse.js';
import { badRequest } from './scim-error.js';

/**
 * Compiles a parsed SCIM filter into one SQL condition with positional bindings, so filtering and paging run in
 * the database (with its indexes) and never in memory. What an attribute path means in SQL is the job of a
 * {@link FilterScope} (see filter-scopes.ts); this file knows only the operators.
 *
 * Index use: a case-insensitive `eq` compiles to `lower(col) = lower(?)` at the top level of the condition, the
 * shape of the `lower(usercode)` and `lower(email)` indexes. Only `not` adds COALESCE (SQL NULL would otherwise
 * turn `not` into "unknown").
 */

export interface SqlColumn {
  /** SQL expression of the attribute's value. */
  expr: string;
  type: 'string' | 'boolean' | 'dateTime';
  caseExact: boolean;
  /** Set for attributes of a multi-valued attribute's entries: "some entry satisfies `cond`". */
  some?: (cond: string) => string;
}

export interface FilterScope {
  /** The column behind an attribute path (relative to the scope), or null for an unknown or unfilterable one. */
  column(path: string): SqlColumn | null;
  /** `path[…]`: the scope of one entry of a multi-valued attribute, and "some entry satisfies `cond`". */
  entries(path: string): { scope: FilterScope; some: (cond: string) => string } | null;
}

export interface CompiledFilter {
  sql: string;
  bindings: (string | boolean)[];
}

const unknownAttr = (path: string) => badRequest('invalidFilter', `The filter names an attribute that cannot be filtered on: ${path}.`);

/** LIKE pattern with `\` as the escape character. */
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export function compileFilter(filter: Filter, scope: FilterScope): CompiledFilter {
  const bindings: (string | boolean)[] = [];

  const leaf = (col: SqlColumn, op: string, raw: unknown): string => {
    if (op === 'pr' || raw === null) {
      const present = col.type === 'string' ? `(${col.expr} IS NOT NULL AND ${col.expr} <> '')` : `${col.expr} IS NOT NULL`;
      const cond = col.some ? col.some(present) : present;
      if (op === 'pr') return cond;
      if (op === 'eq') return `NOT COALESCE(${cond}, false)`;
      if (op === 'ne') return cond;
      throw badRequest('invalidFilter', `"${op} null" is not a valid comparison.`);
    }
    if (op === 'ne') return `NOT COALESCE(${leaf(col, 'eq', raw)}, false)`;
    let cond: string;
    if (col.type === 'boolean') {
      const v = typeof raw === 'boolean' ? raw : typeof raw === 'string' && /^(true|false)$/i.test(raw) ? raw.toLowerCase() === 'true' : null;
      if (v === null || op !== 'eq') throw badRequest('invalidFilter', 'A boolean attribute compares only with eq/ne true or false.');
      bindings.push(v);
      cond = `${col.expr} = ?`;
    } else if (col.type === 'dateTime') {
      const t = typeof raw === 'string' ? Date.parse(raw) : NaN;
      if (Number.isNaN(t)) throw badRequest('invalidFilter', 'A dateTime attribute compares with an RFC 3339 date-time string.');
      const sqlOp = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
      if (!sqlOp) throw badRequest('invalidFilter', `"${op}" does not apply to a dateTime attribute.`);
      bindings.push(new Date(t).toISOString());
      cond = `${col.expr} ${sqlOp} CAST(? AS timestamptz)`;
    } else {
      if (typeof raw === 'object') throw badRequest('invalidFilter', 'Invalid comparison value.');
      const v = String(raw);
      const [l, r] = col.caseExact ? [col.expr, '?'] : [`lower(${col.expr})`, 'lower(?)'];
      switch (op) {
        case 'eq':
          bindings.push(v);
          cond = `${l} = ${r}`;
          break;
        case 'co':
        case 'sw':
        case 'ew':
          bindings.push(`${op === 'sw' ? '' : '%'}${likeEscape(v)}${op === 'ew' ? '' : '%'}`);
          cond = `${l} LIKE ${r} ESCAPE '\\'`;
          break;
        case 'gt':
        case 'ge':
        case 'lt':
        case 'le':
          bindings.push(v);
          cond = `${l} ${{ gt: '>', ge: '>=', lt: '<', le: '<=' }[op]} ${r}`;
          break;
        default:
          throw badRequest('invalidFilter', `Unknown operator "${op}".`);
      }
    }
    return col.some ? col.some(cond) : cond;
  };

  const walk = (f: Filter, sc: FilterScope): string => {
    switch (f.op) {
      case 'and':
      case 'or':
        return `(${f.filters.map((x) => walk(x, sc)).join(f.op === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `NOT COALESCE(${walk(f.filter, sc)}, false)`;
      case '[]': {
        const entries = sc.entries(f.attrPath);
        if (!entries) throw unknownAttr(f.attrPath);
        return entries.some(walk(f.valFilter, entries.scope));
      }
      default: {
        const col = sc.column(f.attrPath);
        if (!col) throw unknownAttr(f.attrPath);
        return leaf(col, f.op, (f as { compValue?: unknown }).compValue ?? (f.op === 'pr' ? undefined : null));
      }
    }
  };

  return { sql: walk(filter, scope), bindings };
}
