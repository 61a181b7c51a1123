/**
 * Generated parts of a docs page live between two HTML comments, so the prose around them is written by hand and
 * kept when the generator runs again.
 */
export function startMarker(name: string): string {
  return `<!-- generated:${name} start (npm run docs writes this part; edit the source, not this text) -->`;
}

export function endMarker(name: string): string {
  return `<!-- generated:${name} end -->`;
}

/** The page with the part between the markers replaced; a page without both markers is an error, not a silent skip. */
export function replaceGenerated(page: string, name: string, content: string): string {
  const start = startMarker(name);
  const end = endMarker(name);
  const from = page.indexOf(start);
  const to = page.indexOf(end);
  if (from < 0 || to < from) throw new Error(`the page has no "${start}" ... "${end}" block`);
  return `${page.slice(0, from + start.length)}\n\n${content.trim()}\n\n${page.slice(to)}`;
}
