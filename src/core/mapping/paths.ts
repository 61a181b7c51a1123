/**
 * Appends path segments in the `a.b[0].c` form used by every configuration problem. Keys that are not plain
 * identifiers (attribute names, map keys with spaces) are written `["key"]` so the path stays unambiguous.
 */
export function joinPath(base: string, ...parts: readonly PropertyKey[]): string {
  let out = base;
  for (const part of parts) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)) out += out ? `.${key}` : key;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}
