import type { Claims } from './types.js';

/** How a claim the token does not carry is read: `empty` where the provider leaves out empty lists (Okta). */
export type AbsentClaims = 'empty' | 'absent';

/** Options of evaluateMapping that depend on the token's provider. */
export interface EvaluateOptions {
  absentClaims?: AbsentClaims;
  /** Named in the trace (e.g. the preset), so a reader knows where the reading came from. */
  provider?: string;
}

/** The top-level claim an expression reads first: `groups`, `realm_access`, `"https://x/roles"`. */
function topClaim(source: string): string | null {
  const s = source.trim();
  const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(s);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, '$1');
  const plain = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s);
  return plain ? plain[0] : null;
}

/**
 * Why an expression yielded nothing, when the reason is that its claim is missing: the trace must tell
 * "the provider said: none" from "the token does not say". Null when the claim is there.
 */
export function absenceDetail(source: string, claims: Claims, opts: EvaluateOptions = {}): string | null {
  const name = topClaim(source);
  if (name === null || Object.hasOwn(claims, name)) return null;
  const names = claims._claim_names;
  if (names !== null && typeof names === 'object' && Object.hasOwn(names, name)) {
    // Only groups are read from elsewhere (Microsoft Graph) or refused when they cannot be (core/idp/entra-groups.ts).
    if (name === 'groups') {
      return `claim "${name}" is absent but the token says it was left out (_claim_names): unknown, not empty; a sign-in is refused unless it is resolved`;
    }
    return `claim "${name}" is absent but the token says it was left out (_claim_names): unknown, not empty; claimgate fetches only groups, so this rule reads no values`;
  }
  const by = opts.provider ? ` (preset ${opts.provider})` : '';
  if (opts.absentClaims === 'empty') return `claim "${name}" is absent: read as empty, as this provider leaves out empty lists${by}`;
  return `claim "${name}" is absent from the token: no values${by}`;
}
