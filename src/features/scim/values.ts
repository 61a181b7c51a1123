import type { Json, JsonObject } from '../../core/scim/user-roles.js';
import { badRequest } from './scim-error.js';
import { findAttr, splitUrn, type AttrDef, type ResourceKind } from './schema.js';

/**
 * Coercion of what clients send into the schema's shape, the way real clients send it: Entra's `"True"` and
 * `"False"` strings for booleans, a bare id where a complex `{ value }` is meant (Entra's manager, members as
 * plain ids), a single value where a list is meant, and keys in any letter case (`Value`).
 */

export type { Json, JsonObject };

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One value of a single-valued attribute (or one item of a multi-valued one). `undefined`: drop it. */
export function coerceSingle(def: AttrDef, value: unknown, where: string): Json | undefined {
  if (value === null || value === undefined) return null;
  switch (def.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
      throw badRequest('invalidValue', `${where} must be a boolean.`);
    case 'integer':
    case 'decimal':
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      throw badRequest('invalidValue', `${where} must be a number.`);
    case 'complex': {
      if (!isObject(value)) {
        // A bare value where a complex attribute is meant: Entra's manager id, members as plain ids.
        if ((typeof value === 'string' || typeof value === 'number') && findAttr(def.subAttributes, 'value')) {
          return value === '' ? null : { value: String(value) };
        }
        throw badRequest('invalidValue', `${where} must be an object.`);
      }
      const out: JsonObject = {};
      for (const [k, v] of Object.entries(value)) {
        const sub = findAttr(def.subAttributes, k);
        if (!sub) continue; // unknown sub-attributes are ignored (RFC 7644 section 3.3: the provider may drop them)
        const c = coerceSingle(sub, v, `${where}.${sub.name}`);
        if (c !== undefined && c !== null) out[sub.name] = c;
      }
      return def.name === 'roles' ? unpackedRole(out) : out;
    }
    default:
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw badRequest('invalidValue', `${where} must be a string.`);
  }
}

/**
 * Entra's multi-role mapping (AppRoleAssignmentsComplex) adds roles in a PATCH as
 * `{ "value": "{\"id\":\"…\",\"value\":\"Admin\",\"displayName\":\"Admin\"}" }`: the role as JSON text inside
 * `value`. Such an entry is stored as the role it names (`value`, and `display` from `displayName`), the same
 * shape Entra sends in a POST.
 */
function unpackedRole(role: JsonObject): JsonObject {
  const text = role.value;
  if (typeof text !== 'string' || !text.trimStart().startsWith('{')) return role;
  let inner: unknown;
  try {
    inner = JSON.parse(text);
  } catch {
    return role;
  }
  if (!isObject(inner) || (typeof inner.value !== 'string' && typeof inner.value !== 'number')) return role;
  const out: JsonObject = { ...role, value: String(inner.value) };
  const display = inner.displayName ?? inner.display;
  if (out.display === undefined && typeof display === 'string') out.display = display;
  return out;
}

/** A whole attribute value: a list for multi-valued attributes (a single item is wrapped). */
export function coerceValue(def: AttrDef, value: unknown, where: string): Json | undefined {
  if (def.multiValued) {
    if (value === null || value === undefined) return [];
    const items = Array.isArray(value) ? value : [value];
    return items.map((v, i) => coerceSingle(def, v, `${where}[${i}]`)).filter((v): v is Json => v !== undefined && v !== null);
  }
  return coerceSingle(def, value, where);
}

const WRITE_IGNORED = new Set(['id', 'meta', 'schemas', 'groups', 'password']);

/**
 * A resource body as the client sent it (POST, PUT) → the canonical document: known attributes only, canonical
 * names, coerced values, extension attributes under their schema URN. Read-only attributes (`id`, `meta`,
 * `groups`) and `password` are dropped: a password is never stored or logged.
 */
export function canonicalDocument(kind: ResourceKind, body: unknown): JsonObject {
  if (!isObject(body)) throw badRequest('invalidSyntax', 'The request body must be a JSON object.');
  const doc: JsonObject = {};
  for (const [key, value] of Object.entries(body)) {
    if (WRITE_IGNORED.has(key.toLowerCase())) continue;
    const split = splitUrn(kind, key);
    if (!split) continue; // an extension this server does not know
    if (split.rest === '') {
      if (!split.extension) continue;
      if (!isObject(value)) throw badRequest('invalidSyntax', `${key} must be an object.`);
      const ext: JsonObject = {};
      for (const [k, v] of Object.entries(value)) {
        const def = findAttr(split.extension.attributes, k);
        if (!def || def.mutability === 'readOnly') continue;
        const c = coerceValue(def, v, `${split.extension.id}:${def.name}`);
        if (c !== undefined && c !== null) ext[def.name] = c;
      }
      doc[split.extension.id] = ext;
      continue;
    }
    const def = findAttr((split.extension ?? kind.core).attributes, split.rest);
    if (!def || def.mutability === 'readOnly' || WRITE_IGNORED.has(def.name.toLowerCase())) continue;
    const c = coerceValue(def, value, def.name);
    if (c === undefined || c === null) continue;
    if (split.extension) ((doc[split.extension.id] ??= {}) as JsonObject)[def.name] = c;
    else doc[def.name] = c;
  }
  return doc;
}

/** Drops empty strings, empty objects and empty lists, recursively (SCIM: unassigned and empty are the same). */
export function prune(v: Json): Json | undefined {
  if (v === null || v === '') return undefined;
  if (Array.isArray(v)) {
    const items = v.map(prune).filter((x): x is Json => x !== undefined);
    return items.length ? items : undefined;
  }
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      const p = prune(x);
      if (p !== undefined) out[k] = p;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v;
}
