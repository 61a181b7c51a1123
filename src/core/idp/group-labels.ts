import type { IssuerConfig } from '../config/schema.js';
import type { CompiledMapping } from '../mapping/index.js';
import type { Claims } from '../mapping/types.js';
import { GraphClient } from './graph-client.js';

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Group ids a reader would like named: GUID keys of the mapping's `map` tables and GUIDs in the claims' groups. */
export function groupIdsOf(mapping: CompiledMapping, claims: Claims): string[] {
  const ids = new Set<string>();
  for (const rule of [...mapping.roles, ...mapping.permissions]) {
    if (rule.kind === 'map') for (const key of rule.table.keys()) if (GUID.test(key)) ids.add(key.toLowerCase());
  }
  if (Array.isArray(claims.groups)) for (const g of claims.groups) if (typeof g === 'string' && GUID.test(g)) ids.add(g.toLowerCase());
  return [...ids].sort();
}

/**
 * Display names of the group GUIDs a mapping uses or a token carries: from the mapping's `groupLabels`, then from
 * Microsoft Graph when the issuer has `entra.graph`. Labels are for people reading a preview; a Graph failure
 * leaves the ids unlabelled and never fails the preview.
 */
export async function resolveGroupLabels(
  mapping: CompiledMapping,
  claims: Claims,
  issuer: IssuerConfig | undefined,
  fetchImpl: typeof fetch = fetch,
): Promise<Record<string, string>> {
  const ids = groupIdsOf(mapping, claims);
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  const table = new Map(Object.entries(mapping.definition.groupLabels ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  for (const id of ids) {
    const label = table.get(id);
    if (label !== undefined) labels[id] = label;
  }
  const missing = ids.filter((id) => !Object.hasOwn(labels, id));
  const graph = issuer?.entra?.graph;
  const tid = typeof claims.tid === 'string' && GUID.test(claims.tid) ? claims.tid : issuer?.entra?.tenants[0];
  if (missing.length > 0 && graph && tid) {
    try {
      const names = await new GraphClient(graph, fetchImpl).groupNames(tid.toLowerCase(), missing);
      // Only the ids asked for: the answer's keys come from outside.
      for (const id of missing) {
        const name = names.get(id);
        if (name !== undefined) labels[id] = name;
      }
    } catch {
      // Unlabelled ids are still correct ids.
    }
  }
  return { ...labels };
}
