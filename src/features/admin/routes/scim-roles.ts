import { z } from 'zod';
import { recordAudit } from '../../../store/audit-log.js';
import { GatewayError } from '../../../core/errors/errors.js';
import type { AdminDeps } from '../deps.js';
import { storedScimUser } from '../../../store/scim-users.js';
import { resolveUser } from '../user-admin.js';
import { SCIM_ROLES_DOCUMENT, type MappingVersion } from '../mapping-store.js';
import { list, rollbackBody, versionSchema } from '../schemas.js';
import { validateScimRoles, type ScimRoleRules } from '../scim-role-rules.js';
import { DEFAULT_ENTERPRISE_TARGETS, enterpriseValues, rolesOfGroup, rolesOfResource, type EnterpriseField, type JsonObject } from '../../../core/scim/user-roles.js';
import { defineRoute, type AdminRoute } from '../route-table.js';
import { ownJsonObject } from '../../../core/config/own-record.js';
import { dict } from '../../../core/own-keys.js';

const previewBody = z.strictObject({
  /** A SCIM User resource as a client would send it (or `user`). */
  resource: z.record(z.string(), z.unknown()).optional(),
  /** A stored user (id or usercode): its SCIM resource as kept and its SCIM groups, instead of `resource`. */
  user: z.string().min(1).max(200).optional(),
  /** Display names (or external ids) of SCIM groups the user would be a member of. */
  groups: z.array(z.string()).max(1000).default([]),
  /** Unsaved rules to try instead of those in force (each part left out keeps the one in force). */
  groupRoles: ownJsonObject().optional(),
  userRoles: z.array(z.unknown()).optional(),
});

const rulesBody = z.strictObject({
  groupRoles: ownJsonObject().default(() => dict<unknown>()),
  userRoles: z.array(z.unknown()).default([]),
});

const rulesAnswer = z.object({
  version: z.number().int().nullable(),
  source: z.enum(['file', 'database']),
  groupRoles: z.record(z.string(), z.unknown()),
  userRoles: z.array(z.unknown()),
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
export function scimRoleRoutes(deps: AdminDeps, rules: ScimRoleRules): AdminRoute[] {
  const cfg = deps.config.provisioning.scim;
  const store = rules.store;
  /** In force here at once, then on every other process through the bus (within a second). */
  const install = async (v: MappingVersion | null) => {
    rules.install(v);
    await deps.bus.publish({ kind: 'mapping', id: SCIM_ROLES_DOCUMENT });
  };
  const answer = (v: MappingVersion) => ({ version: v.version, source: 'database' as const, groupRoles: v.document.groupRoles as Record<string, unknown>, userRoles: v.document.userRoles as unknown[] });
  const targets = { ...DEFAULT_ENTERPRISE_TARGETS, ...(cfg.enterprise as Partial<Record<EnterpriseField, string | null>>) };
  return [
    defineRoute({
      method: 'get',
      path: '/provisioning/scim-roles',
      tag: 'provisioning',
      scope: 'admin:read',
      summary: 'The SCIM role rules in force',
      description: 'The version in force (null: the configuration file\'s rules), its source, groupRoles and userRoles; also allowedRoles, the enterprise extension targets and idpSource, as configured.',
      response: rulesAnswer.extend({ allowedRoles: z.array(z.string()).nullable(), enterprise: z.record(z.string(), z.string().nullable()), idpSource: z.string().nullable() }),
      handler: async () => {
        const v = await store.active(SCIM_ROLES_DOCUMENT);
        return {
          ...(v ? answer(v) : { version: null, source: 'file' as const, groupRoles: cfg.groupRoles, userRoles: cfg.userRoles as unknown[] }),
          allowedRoles: cfg.allowedRoles ?? null,
          enterprise: targets,
          idpSource: cfg.idpSource ?? null,
        };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/provisioning/scim-roles',
      tag: 'provisioning',
      scope: 'admin:write',
      summary: 'Save a new version of the SCIM role rules and put it in force (every instance within a second)',
      description: 'Invalid rules answer 400 `scim_roles_invalid` with every problem and its path; the rules in force stay. Users get the new rules at their next SCIM write.',
      body: rulesBody,
      response: rulesAnswer,
      handler: async ({ body, actor }) => {
        validateScimRoles(body);
        // Kept as sent, as mapping versions are; validated (and compiled) again whenever it is put in force.
        const v = await store.save(SCIM_ROLES_DOCUMENT, { groupRoles: body.groupRoles, userRoles: body.userRoles }, {
          createdBy: actor,
          onSaved: (trx, saved) => recordAudit(trx, { type: 'scim_roles_saved', actor, source: 'admin', detail: { version: saved.version } }),
        });
        await install(v);
        return answer(v);
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/provisioning/scim-roles',
      tag: 'provisioning',
      scope: 'admin:write',
      summary: "Back to the configuration file's SCIM role rules (the stored versions stay for rollback)",
      errors: [404],
      handler: async ({ actor }) => {
        const done = await store.deactivate(SCIM_ROLES_DOCUMENT, {
          by: actor,
          onDone: (trx, was) => recordAudit(trx, { type: 'scim_roles_reset', actor, source: 'admin', detail: { previousVersion: was } }),
        });
        if (!done) throw new GatewayError('scim_roles_not_stored', 'No stored version of the SCIM role rules is in force.');
        await install(null);
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/provisioning/scim-roles/versions',
      tag: 'provisioning',
      scope: 'admin:read',
      summary: 'Saved versions of the SCIM role rules, newest first',
      response: list(versionSchema),
      handler: async () => {
        const versions = await store.versions(SCIM_ROLES_DOCUMENT);
        const active = await store.active(SCIM_ROLES_DOCUMENT);
        return {
          items: versions.map((v) => ({ version: v.version, createdAt: v.createdAt, createdBy: v.createdBy, rolledBackFrom: v.rolledBackFrom, active: active?.version === v.version })),
          nextCursor: null,
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/provisioning/scim-roles/rollback',
      tag: 'provisioning',
      scope: 'admin:write',
      summary: 'Write a new version of the SCIM role rules equal to an earlier one and put it in force',
      body: rollbackBody,
      response: rulesAnswer.extend({ rolledBackFrom: z.number().int() }),
      errors: [404],
      handler: async ({ body, actor }) => {
        const old = await store.get(SCIM_ROLES_DOCUMENT, body.version);
        if (!old) throw new GatewayError('version_not_found', `The SCIM role rules have no version ${body.version}.`);
        validateScimRoles(old.document);
        const v = await store.save(SCIM_ROLES_DOCUMENT, old.document, {
          createdBy: actor,
          rolledBackFrom: old.version,
          onSaved: (trx, saved) => recordAudit(trx, { type: 'scim_roles_rolled_back', actor, source: 'admin', detail: { version: saved.version, from: old.version } }),
        });
        await install(v);
        return { ...answer(v), rolledBackFrom: old.version };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/provisioning/scim-roles/preview',
      tag: 'provisioning',
      scope: 'admin:read',
      summary: 'Preview the roles a SCIM User resource would get',
      description: 'Runs the rules in force, or an unsaved draft (`groupRoles`, `userRoles`), on the resource (or the stored `user` and its SCIM groups) and the named groups without writing anything; `refused` lists roles outside allowedRoles.',
      errors: [404],
      body: previewBody,
      response: previewAnswer,
      handler: async ({ body }) => {
        if (!body.resource === !body.user) throw new GatewayError('invalid_request', 'Give either `resource` or `user`.', { extra: { problems: [{ path: 'body.resource', message: 'give either resource or user' }] } });
        const stored = body.user ? await storedScimUser(deps.knex, (await resolveUser(deps, body.user)).id) : null;
        const resource = (stored?.resource ?? body.resource) as JsonObject;
        const groups = [...(stored?.groups ?? []), ...body.groups.map((displayName) => ({ displayName, externalId: null }))];
        const inForce = rules.get();
        const draft = body.groupRoles !== undefined || body.userRoles !== undefined ? validateScimRoles({ groupRoles: body.groupRoles ?? inForce.groupRoles, userRoles: body.userRoles ?? inForce.userRoles }) : inForce;
        const fromGroups = [...new Set(groups.flatMap((g) => rolesOfGroup(draft.groupRoles, g.displayName, g.externalId)))];
        const { roles: fromUser, trace } = rolesOfResource(draft.compiled, resource);
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
