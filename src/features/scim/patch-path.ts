import { parseFilter, type Filter } from './filter-parse.js';
import { badRequest } from './scim-error.js';
import { findAttr, splitUrn, type AttrDef, type ResourceKind } from './schema.js';

/** A PATCH target: `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`, maybe URN-qualified. */
export interface PatchPath {
  /** The extension URN holding the attribute, or null for the core schema. */
  extension: string | null;
  attr: AttrDef;
  filter?: Filter;
  sub?: AttrDef;
}

const invalidPath = (path: string, why = 'is not an attribute of this resource') =>
  badRequest('invalidPath', `The path "${path}" ${why}.`);

/** Parses and resolves a PATCH path (RFC 7644 section 3.5.2 PATH), case-insensitively. Unknown: `400 invalidPath`. */
export function parsePatchPath(kind: ResourceKind, path: string): PatchPath {
  const split = splitUrn(kind, path.trim());
  if (!split || split.rest === '') throw invalidPath(path);
  const schema = split.extension ?? kind.core;
  const rest = split.rest;
  let name = rest;
  let filterText: string | undefined;
  let subName: string | undefined;
  const open = rest.indexOf('[');
  if (open >= 0) {
    name = rest.slice(0, open);
    const close = closingBracket(rest, open);
    if (close < 0) throw invalidPath(path, 'has an unclosed "["');
    filterText = rest.slice(open + 1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith('.')) throw invalidPath(path, 'is malformed');
      subName = after.slice(1);
    }
  } else {
    const dot = rest.indexOf('.');
    if (dot >= 0) {
      name = rest.slice(0, dot);
      subName = rest.slice(dot + 1);
    }
  }
  const attr = findAttr(schema.attributes, name);
  if (!attr) throw invalidPath(path);
  const out: PatchPath = { extension: split.extension?.id ?? null, attr };
  if (filterText !== undefined) {
    if (!attr.multiValued) throw invalidPath(path, 'filters an attribute that is not multi-valued');
    try {
      out.filter = parseFilter(filterText);
    } catch {
      throw invalidPath(path, 'has a filter that cannot be parsed');
    }
  }
  if (subName !== undefined) {
    const sub = findAttr(attr.subAttributes, subName);
    if (!sub) throw invalidPath(path);
    out.sub = sub;
  }
  return out;
}

function closingBracket(s: string, open: number): number {
  let quoted = false;
  for (let i = open + 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ']' && !quoted) return i;
  }
  return -1;
}
