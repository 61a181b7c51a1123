/**
 * Objects keyed by names that come from outside (attribute, group, claim and event names, configuration maps).
 * A plain `{}` answers `constructor`, `toString` or `__proto__` from its prototype, and assigning `__proto__`
 * replaces the prototype instead of storing a key; a null-prototype object has neither problem.
 */
export function dict<T>(entries?: Iterable<readonly [string, T]>): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  if (entries) for (const [k, v] of entries) out[k] = v;
  return out;
}

/** `obj[key]` when `key` is the object's own property, undefined otherwise (never something inherited). */
export function own<T>(obj: Readonly<Record<string, T>> | null | undefined, key: string): T | undefined {
  return obj && Object.hasOwn(obj, key) ? obj[key] : undefined;
}
