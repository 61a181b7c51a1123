import { GatewayError } from '../errors.js';

/**
 * Opaque keyset-pagination cursors: the sort key of the last item of a page, base64url JSON. Keyset (not
 * offset) pagination stays correct while rows are added and costs the same on every page.
 */
export function encodeCursor(key: (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor} with `arity` parts; a tampered one is `400 cursor_invalid`. */
export function decodeCursor(cursor: string, arity: number): (string | number)[] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === arity && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v;
  } catch {
    // fall through
  }
  throw new GatewayError('cursor_invalid', 400, 'The cursor is not one this API gave out; start again without it.');
}

/** `{ items, nextCursor }` from a page fetched with one extra row (`limit + 1`) to know whether more exist. */
export function page<T>(rows: T[], limit: number, keyOf: (last: T) => (string | number)[]): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
