import type { Filter } from './filter-parse.js';
import { badRequest } from './scim-error.js';
import { findAttr, type AttrDef } from './schema.js';
import { isObject, type Json } from './values.js';

/**
 * Evaluates the filter of a PATCH path (`emails[type eq "work"]`, `members[value eq "…"]`) against one entry of
 * a multi-valued attribute, in memory: the entry is already loaded. Sub-attribute names are case-insensitive;
 * strings compare case-insensitively unless the sub-attribute is caseExact.
 */
export function matchesEntry(filter: Filter, attr: AttrDef, entry: Json): boolean {
  const e = isObject(entry) ? entry : { value: entry };
  const test = (f: Filter): boolean => {
    switch (f.op) {
      case 'and':
        return f.filters.every(test);
      case 'or':
        return f.filters.some(test);
      case 'not':
        return !test(f.filter);
      case '[]':
        throw badRequest('invalidPath', 'A value filter cannot nest another.');
      default: {
        const sub = findAttr(attr.subAttributes, f.attrPath);
        if (!sub) throw badRequest('invalidPath', `${attr.name} has no sub-attribute ${f.attrPath}.`);
        const v = e[sub.name];
        if (f.op === 'pr') return v !== undefined && v !== null && v !== '';
        const c = (f as { compValue: unknown }).compValue;
        return compare(f.op, v, c, !!sub.caseExact);
      }
    }
  };
  return test(filter);
}

function compare(op: string, v: Json | undefined, c: unknown, caseExact: boolean): boolean {
  if (v === undefined || v === null) return op === 'ne' ? c !== null : op === 'eq' && c === null;
  if (typeof v === 'boolean' || typeof c === 'boolean') {
    const b = typeof c === 'string' ? c.toLowerCase() === 'true' : c;
    return op === 'eq' ? v === b : op === 'ne' ? v !== b : false;
  }
  const norm = (x: unknown) => (caseExact ? String(x) : String(x).toLowerCase());
  const a = norm(v);
  const b = norm(c);
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'co':
      return a.includes(b);
    case 'sw':
      return a.startsWith(b);
    case 'ew':
      return a.endsWith(b);
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    default:
      throw badRequest('invalidFilter', `Unknown operator "${op}".`);
  }
}

/**
 * The entry a filtered `add` creates when nothing matches (`emails[type eq "work"].value` on a user without
 * one): the `eq` comparisons of an `and`-only filter become its sub-attributes. Null for any other filter.
 */
export function entryFromFilter(filter: Filter, attr: AttrDef): Record<string, Json> | null {
  const out: Record<string, Json> = {};
  const walk = (f: Filter): boolean => {
    if (f.op === 'and') return f.filters.every(walk);
    if (f.op !== 'eq') return false;
    const sub = findAttr(attr.subAttributes, f.attrPath);
    const c = (f as { compValue: unknown }).compValue;
    if (!sub || c === null || typeof c === 'object') return false;
    out[sub.name] = c as Json;
    return true;
  };
  return walk(filter) ? out : null;
}
