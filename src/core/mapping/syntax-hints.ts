/**
 * Plain-words explanations for the JMESPath syntax errors provider claim names cause. Keycloak client ids
 * (`resource_access.my-app.roles`) and Auth0 namespaced claims (`https://example.com/roles`) contain characters
 * JMESPath reads as operators, and the parser then reports something like "Unexpected token type: Number".
 */

/** Dotted segments outside quotes that contain a dash, e.g. `my-app` in `resource_access.my-app.roles`. */
const DASHED_SEGMENT = /(^|\.)([A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)+)(?=$|[.[|\s])/g;

/** A replacement for the parser's message when the expression has an unquoted dashed name, else null. */
export function explainSyntaxError(source: string): string | null {
  if (source.includes('"')) return null;
  if (/^https?:\/\//.test(source.trim())) {
    return `the claim name ${source.trim()} contains ":" and "/", which JMESPath reads as operators; write it in double quotes: "${source.trim()}"`;
  }
  const names = [...source.matchAll(DASHED_SEGMENT)].map((m) => m[2]!);
  if (names.length === 0) return null;
  const fixed = source.replace(DASHED_SEGMENT, (_m, lead: string, name: string) => `${lead}"${name}"`);
  return (
    `the claim name ${names.map((n) => `"${n}"`).join(', ')} contains "-", which JMESPath reads as a minus sign; ` +
    `write the name in double quotes: ${fixed}`
  );
}
