import type { IssuerConfig } from '../config/schema.js';
import { GatewayError } from '../errors/errors.js';
import type { Claims } from '../mapping/types.js';
import { GraphClient, GraphUnavailable, type GraphGroup } from './graph-client.js';

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const MAX_CACHED_USERS = 10_000;
const MAX_LABELS = 50_000;

/** Why a token's groups must come from Graph, or `null` when the token's own `groups` claim is the truth. */
export function groupsSource(issuer: IssuerConfig, claims: Claims): 'overage' | 'always' | null {
  if (issuer.preset !== 'entra' && issuer.entra === undefined) return null;
  if (issuer.entra?.graph?.always) return 'always';
  return isOverage(claims) ? 'overage' : null;
}

/** Entra left the groups out because there were too many (or, in implicit flows, any at all). */
export function isOverage(claims: Claims): boolean {
  if (claims.groups !== undefined) return false;
  const names = claims._claim_names;
  const listed = names !== null && typeof names === 'object' && Object.hasOwn(names, 'groups');
  return listed || claims.hasgroups === true;
}

function unavailable(message: string, cause?: unknown): GatewayError {
  return new GatewayError('groups_unavailable', message, { cause });
}

interface CachedGroups {
  groups: GraphGroup[];
  until: number;
}

/**
 * Fills `groups` from Microsoft Graph when an Entra token left them out (group overage) or when the issuer
 * asks for Graph always. Never guesses: a sign-in whose groups cannot be known is refused, because "no groups"
 * would silently take away every group-mapped role.
 */
export class EntraGroups {
  private readonly clients = new Map<string, GraphClient>();
  private readonly cache = new Map<string, CachedGroups>();
  /** Group id (lower case) → display name, from every Graph answer seen: for previews and `claimgate map`. */
  private readonly labels = new Map<string, string>();

  constructor(
    issuers: readonly IssuerConfig[],
    fetchImpl: typeof fetch = fetch,
    private readonly now: () => number = Date.now,
  ) {
    for (const issuer of issuers) {
      const graph = issuer.entra?.graph;
      if (graph) this.clients.set(issuer.id, new GraphClient(graph, fetchImpl, now));
    }
  }

  /** The claims the mapping should see: the token's, with `groups` read from Graph where needed. */
  async prepare(issuer: IssuerConfig, claims: Claims): Promise<Claims> {
    const source = groupsSource(issuer, claims);
    if (source === null) {
      // An issuer not set up for Entra ID has no way to read them; "no groups" would be a guess.
      if (isOverage(claims)) {
        throw unavailable(
          `Your groups could not be read: the token left them out (it lists them in _claim_names or sends ` +
            `hasgroups) and issuer "${issuer.id}" is not set up for Entra ID. An administrator must set ` +
            'preset: entra and entra.graph on this issuer so the groups can be read from Microsoft Graph.',
        );
      }
      return claims;
    }
    const client = this.clients.get(issuer.id);
    if (client === undefined) {
      throw unavailable(
        `Your groups could not be read: the token left them out (group overage) and issuer "${issuer.id}" has no ` +
          'entra.graph configured. An administrator must add entra.graph (clientId and clientSecret of an app ' +
          'with GroupMember.Read.All) so the groups can be read from Microsoft Graph.',
      );
    }
    const tid = claims.tid;
    const oid = claims.oid;
    if (typeof tid !== 'string' || !GUID.test(tid) || typeof oid !== 'string' || !GUID.test(oid)) {
      throw unavailable('Your groups could not be read: the token has no valid "tid" and "oid" to look them up with.');
    }
    const groups = await this.lookup(issuer, client, tid.toLowerCase(), oid.toLowerCase());
    const field = issuer.entra?.graph?.groupField ?? 'id';
    const values = field === 'displayName' ? groups.flatMap((g) => (g.displayName === null ? [] : [g.displayName])) : groups.map((g) => g.id);
    return { ...claims, groups: values };
  }

  /** The display name of a group id seen in a Graph answer, if any. */
  label(id: string): string | undefined {
    return this.labels.get(id.toLowerCase());
  }

  private async lookup(issuer: IssuerConfig, client: GraphClient, tid: string, oid: string): Promise<GraphGroup[]> {
    const key = `${issuer.id}\u0000${tid}\u0000${oid}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return hit.groups;
    let groups: GraphGroup[];
    try {
      groups = await client.transitiveGroups(tid, oid);
    } catch (e) {
      // The reason (HTTP status, Microsoft's error code) goes to the server log with the cause, not to the browser.
      throw unavailable(
        'Your groups could not be read from Microsoft Graph, so the sign-in was stopped rather than given too few ' +
          'rights. Try again in a moment; if it persists an administrator should check issuers[].entra.graph and the ' +
          'server log.',
        e instanceof GraphUnavailable ? e : new GraphUnavailable('unexpected failure', { cause: e }),
      );
    }
    for (const g of groups) {
      if (g.displayName !== null) {
        if (this.labels.size >= MAX_LABELS) this.labels.clear();
        this.labels.set(g.id.toLowerCase(), g.displayName);
      }
    }
    const seconds = issuer.entra?.graph?.cacheSeconds ?? 0;
    if (seconds > 0) {
      if (this.cache.size >= MAX_CACHED_USERS) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.delete(key);
      this.cache.set(key, { groups, until: this.now() + seconds * 1000 });
    }
    return groups;
  }
}
