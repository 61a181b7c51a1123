import { entryFromFilter, matchesEntry } from './filter-match.js';
import { parsePatchPath, type PatchPath } from './patch-path.js';
import { badRequest } from './scim-error.js';
import { splitUrn, type ResourceKind } from './schema.js';
import { coerceSingle, coerceValue, isObject, type Json, type JsonObject } from './values.js';

/**
 * The PATCH engine (RFC 7644 section 3.5.2) over a canonical resource document, as Entra ID and Okta really use it:
 * - `op` in any case (`Replace`, `Add`, `Remove`);
 * - a path-less `add`/`replace` whose value object has plain, dotted (`name.givenName`) or URN-qualified keys,
 *   or an extension object under its URN;
 * - `add` on a single-valued attribute replaces it; on a complex one it merges sub-attributes;
 * - a filtered `add` or `replace` (`emails[type eq "work"].value`) that matches nothing creates the entry;
 * - `remove` on a multi-valued attribute with a `value` list removes only those entries (group members);
 * - `password` is ignored wherever it appears: it is never stored.
 * Operations apply to a copy: one failing operation leaves the resource untouched.
 */
export function applyPatch(kind: ResourceKind, doc: JsonObject, body: unknown): JsonObject {
  if (!isObject(body)) throw badRequest('invalidSyntax', 'The PATCH body must be a JSON object.');
  const opsKey = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const ops = opsKey === undefined ? undefined : body[opsKey];
  if (!Array.isArray(ops)) throw badRequest('invalidSyntax', 'Operations must be a list of PATCH operations.');
  const out = structuredClone(doc);
  ops.forEach((raw, i) => {
    if (!isObject(raw)) throw badRequest('invalidSyntax', `Operations[${i}] must be an object.`);
    const field = (name: string) => raw[Object.keys(raw).find((k) => k.toLowerCase() === name) ?? name];
    const op = typeof field('op') === 'string' ? String(field('op')).toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw badRequest('invalidSyntax', `Operations[${i}].op must be add, replace or remove.`);
    }
    const path = field('path');
    const value = field('value');
    if (path === undefined || path === null || path === '') {
      if (op === 'remove') throw badRequest('noTarget', `Operations[${i}]: remove needs a path.`);
      if (!isObject(value)) throw badRequest('invalidSyntax', `Operations[${i}].value must be an object when there is no path.`);
      for (const [k, v] of Object.entries(value)) {
        const split = splitUrn(kind, k);
        if (split && split.rest === '' && split.extension && isObject(v)) {
          for (const [k2, v2] of Object.entries(v)) applyOne(kind, out, op, `${split.extension.id}:${k2}`, v2, true);
        } else if (!IGNORED_IN_VALUE.has(k.toLowerCase())) applyOne(kind, out, op, k, v, true);
      }
      return;
    }
    if (typeof path !== 'string') throw badRequest('invalidPath', `Operations[${i}].path must be a string.`);
    applyOne(kind, out, op, path, value, false);
  });
  return out;
}

const IGNORED_IN_VALUE = new Set(['schemas', 'id', 'meta']);

function applyOne(kind: ResourceKind, doc: JsonObject, op: 'add' | 'replace' | 'remove', pathText: string, value: unknown, pathless: boolean) {
  const p = parsePatchPath(kind, pathText);
  if (p.attr.name === 'password') return; // never stored; accepted so password-sync clients keep working
  if (p.attr.mutability === 'readOnly' || p.sub?.mutability === 'readOnly') {
    if (pathless) return;
    throw badRequest('mutability', `${pathText} is read-only.`);
  }
  const container = p.extension ? ((isObject(doc[p.extension]) ? doc[p.extension] : (doc[p.extension] = {})) as JsonObject) : doc;
  if (op === 'remove') remove(container, p, value);
  else set(container, p, op, value, pathText);
  if (p.extension && Object.keys(container).length === 0) delete doc[p.extension];
}

const list = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

function set(container: JsonObject, p: PatchPath, op: 'add' | 'replace', value: unknown, pathText: string): void {
  const key = p.attr.name;
  if (p.filter) {
    const entries = list(container[key]).map((e) => (isObject(e) ? e : { value: e }));
    const matches = entries.filter((e) => matchesEntry(p.filter!, p.attr, e));
    const patch: JsonObject = p.sub
      ? { [p.sub.name]: coerceSingle(p.sub, value, pathText) ?? null }
      : ((coerceSingle(p.attr, value, pathText) as JsonObject | null) ?? {});
    if (matches.length === 0) {
      const created = entryFromFilter(p.filter, p.attr);
      if (!created) throw badRequest('noTarget', `Nothing matches ${pathText}.`);
      entries.push({ ...created, ...patch });
    } else for (const e of matches) Object.assign(e, patch);
    container[key] = entries.map(dropNulls);
    return;
  }
  if (p.sub) {
    const v = coerceSingle(p.sub, value, pathText) ?? null;
    if (p.attr.multiValued) {
      const entries = list(container[key]).map((e) => (isObject(e) ? e : { value: e }));
      if (entries.length === 0) entries.push({});
      for (const e of entries) e[p.sub.name] = v;
      container[key] = entries.map(dropNulls);
    } else {
      const obj = dropNulls({ ...(isObject(container[key]) ? (container[key] as JsonObject) : {}), [p.sub.name]: v });
      if (Object.keys(obj).length) container[key] = obj;
      else delete container[key];
    }
    return;
  }
  if (p.attr.multiValued) {
    const values = coerceValue(p.attr, value, pathText) as Json[];
    if (op === 'replace') container[key] = values;
    else {
      const entries = list(container[key]);
      for (const v of values) if (!entries.some((e) => sameEntry(e, v))) entries.push(v);
      container[key] = entries;
    }
    return;
  }
  const v = coerceSingle(p.attr, value, pathText);
  if (v === null || v === undefined) delete container[key];
  else if (p.attr.type === 'complex' && isObject(v)) {
    // RFC 7644 sections 3.5.2.1 and 3.5.2.3: sub-attributes not given are left as they are.
    container[key] = { ...(isObject(container[key]) ? (container[key] as JsonObject) : {}), ...v };
  } else container[key] = v;
}

function remove(container: JsonObject, p: PatchPath, value: unknown): void {
  const key = p.attr.name;
  if (p.filter) {
    const entries = list(container[key]);
    const kept = p.sub
      ? entries.map((e) => (isObject(e) && matchesEntry(p.filter!, p.attr, e) ? omit(e, p.sub!.name) : e))
      : entries.filter((e) => !matchesEntry(p.filter!, p.attr, e));
    setOrDelete(container, key, kept);
    return;
  }
  if (p.sub) {
    if (p.attr.multiValued) setOrDelete(container, key, list(container[key]).map((e) => (isObject(e) ? omit(e, p.sub!.name) : e)));
    else if (isObject(container[key])) {
      const obj = omit(container[key] as JsonObject, p.sub.name);
      if (Object.keys(obj).length) container[key] = obj;
      else delete container[key];
    }
    return;
  }
  if (p.attr.multiValued && value !== undefined && value !== null) {
    // Entra removes group members with `{ path: "members", value: [{ value: id }] }`: only those go.
    const gone = coerceValue(p.attr, value, key) as Json[];
    setOrDelete(container, key, list(container[key]).filter((e) => !gone.some((g) => sameEntry(e, g))));
    return;
  }
  delete container[key];
}

function setOrDelete(container: JsonObject, key: string, entries: Json[]) {
  if (entries.length) container[key] = entries;
  else delete container[key];
}

function omit(o: JsonObject, k: string): JsonObject {
  const { [k]: _gone, ...rest } = o;
  return rest;
}

function dropNulls(o: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
}

/** Entries with a `value` are the same when their values are; others when they are deeply equal. */
function sameEntry(a: Json, b: Json): boolean {
  if (isObject(a) && isObject(b) && a.value !== undefined && b.value !== undefined) return String(a.value) === String(b.value);
  return JSON.stringify(a) === JSON.stringify(b);
}
