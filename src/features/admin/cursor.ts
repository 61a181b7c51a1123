import { GatewayError } from '../../core/errors/errors.js';

/**
 * Opaque keyset-pagination cursors: the sort key of the last item of a page, base64url JSON. Keyset (not
 * offset) pagination stays correct while rows are added and costs the same on every page.
 */
export function encodeCursor(key: (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** What one part of a cursor must be: a row id (printable text) or a non-negative integer key. */
export type CursorPart = 'id' | 'int';

const validPart = (kind: CursorPart, x: unknown): boolean =>
  kind === 'int'
    ? typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
    : typeof x === 'string' && x.length > 0 && x.length <= 64 && /^[\x21-\x7e]+$/.test(x);

/**
 * Decodes a cursor made by {@link encodeCursor} whose parts have the given kinds. Anything else (tampered, another
 * endpoint's, a string where a number belongs) is `400 cursor_invalid`, never a value handed to SQL.
 */
export function decodeCursor<K extends readonly CursorPart[]>(cursor: string, kinds: K): { [I in keyof K]: K[I] extends 'int' ? number : string } {
  try {
    if (cursor.length <= 512) {
      const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
      if (Array.isArray(v) && v.length === kinds.length && kinds.every((k, i) => validPart(k, v[i]))) {
        return v as { [I in keyof K]: K[I] extends 'int' ? number : string };
      }
    }
  } catch {
    // fall through
  }
  throw new GatewayError('cursor_invalid', 'The cursor is not one this API gave out; start again without it.');
}

/** `{ items, nextCursor }` from a page fetched with one extra row (`limit + 1`) to know whether more exist. */
export function page<T>(rows: T[], limit: number, keyOf: (last: T) => (string | number)[]): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
