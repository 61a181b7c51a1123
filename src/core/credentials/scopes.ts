/** The scopes an API credential can hold (docs/cli-reference.md#tokens-api-credentials). */
export const SCOPES = ['admin:read', 'admin:write', 'scim', 'users:sync', 'metrics:read'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

/**
 * Parses `S1,S2` (or a space-separated OAuth `scope`). Returns the unknown names instead of throwing, so every
 * caller can phrase its own error.
 */
export function parseScopes(text: string): { scopes: Scope[]; unknown: string[] } {
  const names = text.split(/[\s,]+/).filter(Boolean);
  const scopes = [...new Set(names.filter(isScope))];
  return { scopes, unknown: names.filter((n) => !isScope(n)) };
}

/** `admin:write` includes `admin:read`: a credential that may change things may also look at them. */
export function grants(held: readonly string[], needed: Scope): boolean {
  return held.includes(needed) || (needed === 'admin:read' && held.includes('admin:write'));
}
