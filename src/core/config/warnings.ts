import type { Config } from './schema.js';

/**
 * Settings that are valid but risky: printed by `check-config` as `warning: path: message` lines (the exit code
 * stays 0). Provisioning sources grant roles, and without an allowlist a credential meant for user sync, or a
 * compromised identity service, can hand out `admin`.
 */
export function configWarnings(config: Config): string[] {
  const out: string[] = [];
  if (config.provisioning.api.allowedRoles === undefined) {
    out.push(
      'warning: provisioning.api.allowedRoles: not set, so a credential with scope users:sync may grant any role, admin included (list the roles the sync API may grant; [] grants none)',
    );
  }
  if (config.provisioning.events && config.provisioning.events.allowedRoles === undefined) {
    out.push(
      'warning: provisioning.events.allowedRoles: not set, so the event receiver grants every role of provisioning.events.groupRoles to whoever the identity service puts in those groups (list the roles events may grant)',
    );
  }
  config.issuers.forEach((issuer, i) => {
    const graph = issuer.entra?.graph;
    if (graph?.groupField === 'displayName' && !graph.always) {
      out.push(
        `warning: issuers[${i}].entra.graph.groupField: displayName without always: true gives group names only to users whose token left its groups out; everyone else's groups stay object ids (GUIDs), so a mapping keyed by names misses them (set always: true, or map the ids)`,
      );
    }
  });
  return out;
}
