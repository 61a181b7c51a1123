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
  return out;
}
