import { badRequest } from './scim-error.js';
import { resolvePath, splitUrn, type ResourceKind } from './schema.js';
import { isObject, type JsonObject } from './values.js';

/**
 * `attributes` / `excludedAttributes` (RFC 7644 section 3.4.2.5), names case-insensitive and maybe URN-qualified.
 * `schemas` and `id` are always returned.
 */
export interface Projection {
  include: string[] | null;
  exclude: string[];
}

/** Whether a top-level attribute (e.g. `members`) is wanted at all, so its query can be skipped. */
export function wants(p: Projection, attr: string): boolean {
  if (p.include) return p.include.some((n) => n.split('.')[0] === attr);
  return !p.exclude.includes(attr);
}

export function parseProjection(kind: ResourceKind, attributes: unknown, excluded: unknown): Projection {
  const names = (v: unknown, param: string): string[] | null => {
    if (v === undefined || v === '') return null;
    if (typeof v !== 'string') throw badRequest('invalidValue', `${param} must be a comma-separated list.`);
    const list = v.split(',').map((s) => s.trim()).filter(Boolean);
    return list.map((n) => {
      const split = splitUrn(kind, n);
      const r = split && split.rest !== '' ? resolvePath(kind, n) : null;
      if (!r) throw badRequest('invalidPath', `${param} names an unknown attribute: ${n}.`);
      return `${r.extension ? `${r.extension}:` : ''}${r.attr.name}${r.sub ? `.${r.sub.name}` : ''}`;
    });
  };
  return { include: names(attributes, 'attributes'), exclude: names(excluded, 'excludedAttributes') ?? [] };
}

export function project(resource: JsonObject, p: Projection): JsonObject {
  if (!p.include && p.exclude.length === 0) return resource;
  const split = (n: string) => {
    const i = n.lastIndexOf(':');
    const ext = i >= 0 ? n.slice(0, i) : null;
    const [attr, sub] = (i >= 0 ? n.slice(i + 1) : n).split('.') as [string, string | undefined];
    return { ext, attr, sub };
  };
  if (p.include) {
    const out: JsonObject = { schemas: resource.schemas ?? [], id: resource.id ?? null };
    for (const n of p.include) {
      const { ext, attr, sub } = split(n);
      const from = ext ? resource[ext] : resource;
      if (!isObject(from) || from[attr] === undefined) continue;
      const target = ext ? ((out[ext] ??= {}) as JsonObject) : out;
      const v = from[attr];
      if (sub === undefined) target[attr] = v;
      else if (Array.isArray(v)) target[attr] = v.filter(isObject).map((e) => (e[sub] === undefined ? {} : { [sub]: e[sub] }));
      else if (isObject(v) && v[sub] !== undefined) target[attr] = { ...((isObject(target[attr]) ? target[attr] : {}) as JsonObject), [sub]: v[sub] };
    }
    return out;
  }
  const out = structuredClone(resource);
  for (const n of p.exclude) {
    const { ext, attr, sub } = split(n);
    if (!ext && (attr === 'id' || attr === 'schemas')) continue;
    const from = ext ? out[ext] : out;
    if (!isObject(from)) continue;
    if (sub === undefined) delete from[attr];
    else if (Array.isArray(from[attr])) for (const e of from[attr]) if (isObject(e)) delete e[sub];
    else if (isObject(from[attr])) delete (from[attr] as JsonObject)[sub];
  }
  return out;
}
