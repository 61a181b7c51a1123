/**
 * Turning what an expression yielded into the types the desired user state holds. Claims are untrusted input in
 * shape (any JSON), so every function here accepts anything and reports a wrong type instead of throwing.
 */

/** A JSON type name for messages: `string`, `number`, `boolean`, `null`, `array`, `object`. */
export function jsonType(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** The outcome of a conversion: a value, nothing (`value` undefined), or a wrong type (`error`). */
export interface Converted<T> {
  value?: T;
  error?: string;
}

/**
 * A scalar user field: strings are trimmed, numbers and booleans written as text. null, "" and blanks are
 * "nothing" (the stored value is kept under `always`); arrays and objects are a wrong type.
 */
export function toScalar(value: unknown): Converted<string> {
  switch (typeof value) {
    case 'string': {
      const trimmed = value.trim();
      return trimmed ? { value: trimmed } : {};
    }
    case 'number':
      return Number.isFinite(value) ? { value: String(value) } : { error: 'expected a string, got a non-finite number' };
    case 'boolean':
      return { value: String(value) };
    default:
      return value === null || value === undefined ? {} : { error: `expected a string, got ${jsonType(value)}` };
  }
}

/** A list of names or values, with how many items were skipped for their type. */
export interface StringList {
  values: string[];
  /** Items left out because of their type (e.g. objects in `userRoles[]`); reported in the trace. */
  ignored: number;
  /** Set when the whole value had the wrong type (an object where a list was expected). */
  error?: string;
}

/**
 * A string or an array of strings -> a list (empty strings dropped, duplicates kept for the caller to fold).
 * With `scalars`, numbers and booleans count as their text (attribute values such as `42`); without it they are
 * ignored like any other non-string item (role and permission names).
 */
export function toStringList(value: unknown, scalars: boolean): StringList {
  if (value === null || value === undefined) return { values: [], ignored: 0 };
  if (typeof value === 'string') return { values: value ? [value] : [], ignored: 0 };
  if (!Array.isArray(value)) {
    if (scalars && (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))) {
      return { values: [String(value)], ignored: 0 };
    }
    if (typeof value === 'object' || typeof value === 'function') {
      return { values: [], ignored: 0, error: `expected a string or an array of strings, got ${jsonType(value)}` };
    }
    return { values: [], ignored: 1 };
  }
  const values: string[] = [];
  let ignored = 0;
  for (const item of value) {
    if (typeof item === 'string') {
      if (item) values.push(item);
    } else if (scalars && (typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item)))) {
      values.push(String(item));
    } else ignored += 1;
  }
  return { values, ignored };
}

/** Describes skipped items for the trace; objects get the hint that usually fixes the expression. */
export function ignoredDetail(ignored: number): string {
  return `ignored ${ignored} value(s) that are not strings (for objects, select a member, e.g. [*].name)`;
}

/** Adds names not seen yet, keeping first-seen order. */
export function addUnique(target: string[], seen: Set<string>, names: Iterable<string>): void {
  for (const name of names) {
    if (!seen.has(name)) {
      seen.add(name);
      target.push(name);
    }
  }
}

/**
 * One local part, one `@`, one domain; no whitespace or control characters. `ada@evil.example@corp.example` is not
 * an address: it would pass a naive "ends with @corp.example" check in the app or in a mapping rule.
 */
// eslint-disable-next-line no-control-regex
const EMAIL = /^[^@\s\u0000-\u001f\u007f]{1,64}@[^@\s\u0000-\u001f\u007f]{1,255}$/;

/** True for a single e-mail address (every source of the e-mail field checks it). */
export function isEmailAddress(value: string): boolean {
  return EMAIL.test(value);
}
