import { isNode, LineCounter, type Document } from 'yaml';

/** `a.b[0]["x y"].c` → ['a', 'b', 0, 'x y', 'c'] (the inverse of the mapping problems' joinPath). */
export function splitPath(path: string): (string | number)[] | null {
  const out: (string | number)[] = [];
  const re = /(?:^|\.)([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let i = 0;
  while (i < path.length) {
    re.lastIndex = i;
    const m = re.exec(path);
    if (!m) return null;
    out.push(m[1] !== undefined ? m[1] : m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]!) as string));
    i = re.lastIndex;
  }
  return out;
}

/**
 * The line of the YAML text where a problem's path points (its deepest existing node), so an editor can take the
 * person there. Null when the path does not lead into the text.
 */
export function lineOf(doc: Document, counter: LineCounter, path: string): number | null {
  const parts = splitPath(path);
  if (!parts) return null;
  for (let n = parts.length; n > 0; n--) {
    const node = doc.getIn(parts.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return null;
}
