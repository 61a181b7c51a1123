import { z } from 'zod';
import type { GatewayContext } from '../../gateway-context.js';
import { rolesOfGroup } from '../../provisioning/scim/group-roles.js';
import { compileUserRoles, DEFAULT_ENTERPRISE_TARGETS, enterpriseValues, rolesOfResource, type EnterpriseField } from '../../provisioning/scim/user-roles.js';
import type { JsonObject } from '../../provisioning/scim/values.js';
import { defineRoute, type AdminRoute } from '../route-table.js';

const previewBody = z.strictObject({
  /** A SCIM User resource as a client would send it. */
  resource: z.record(z.string(), z.unknown()),
  /** Display names (or external ids) of SCIM groups the user would be a member of. */
  groups: z.array(z.string()).max(1000).default([]),
});

const previewAnswer = z.object({
  roles: z.array(z.string()),
  refused: z.array(z.string()),
  fromGroups: z.array(z.string()),
  fromUser: z.array(z.string()),
  trace: z.array(z.record(z.string(), z.unknown())),
  enterprise: z.object({ profile: z.record(z.string(), z.unknown()), attributes: z.record(z.string(), z.array(z.string())) }),
});

/**
 * The SCIM role configuration (`provisioning.scim.groupRoles` and `userRoles`), readable and previewable: what
 * would a SCIM User resource, in these groups, be granted, and why.
 */
export function scimRoleRoutes(ctx: GatewayContext): AdminRoute[] {
  const cfg = ctx.config.provisioning.scim;
  const rules = compileUserRoles(cfg.userRoles);
  const targets = { ...DEFAULT_ENTERPRISE_TARGETS, ...(cfg.enterprise as Partial<Record<EnterpriseField, string | null>>) };
  return [
    defineRoute({
      method: 'get',
      path: '/provisioning/scim-roles',
      tag: 'provisioning',
      scope: 'admin:read',
      summary: 'The SCIM role rules in force',
      description: 'groupRoles, userRoles, allowedRoles and the enterprise extension targets, as configured.',
      response: z.record(z.string(), z.unknown()),
      handler: async () => ({
        groupRoles: cfg.groupRoles,
        userRoles: cfg.userRoles,
        allowedRoles: cfg.allowedRoles ?? null,
        enterprise: targets,
        idpSource: cfg.idpSource ?? null,
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/provisioning/scim-roles/preview',
      tag: 'provisioning',
      scope: 'admin:read',
      summary: 'Preview the roles a SCIM User resource would get',
      description: 'Runs the rules on the resource (and the named groups) without writing anything; `refused` lists roles outside allowedRoles.',
      body: previewBody,
      response: previewAnswer,
      handler: async ({ body }) => {
        const resource = body.resource as JsonObject;
        const fromGroups = [...new Set(body.groups.flatMap((g) => rolesOfGroup(cfg.groupRoles, g, null)))];
        const { roles: fromUser, trace } = rolesOfResource(rules, resource);
        const all = [...new Set([...fromGroups, ...fromUser])];
        const allowed = cfg.allowedRoles;
        return {
          roles: allowed ? all.filter((r) => allowed.includes(r)) : all,
          refused: allowed ? all.filter((r) => !allowed.includes(r)) : [],
          fromGroups,
          fromUser,
          trace: trace as unknown as Record<string, unknown>[],
          enterprise: enterpriseValues(resource, targets),
        };
      },
    }),
  ];
}
