import { recordAudit } from '../../../store/audit-log.js';
import { GatewayError } from '../../../core/errors/errors.js';
import type { AdminDeps } from '../deps.js';
import { MappingConfigError, validateMappingDocument } from '../../../core/mapping/index.js';
import { definitionOf, type MappingVersion, type MappingVersionStore } from '../mapping-store.js';
import { previewOne, previewRecent } from '../preview.js';
import { defineRoute, type AdminRoute } from '../route-table.js';
import {
  list,
  mappingGetSchema,
  mappingPutResponse,
  mappingSummarySchema,
  nameParams,
  previewBody,
  previewRecentBody,
  rollbackBody,
  versionSchema,
} from '../schemas.js';
import { z } from 'zod';
import { own } from '../../../core/own-keys.js';

const notFound = (name: string) => new GatewayError('mapping_not_found', 404, `There is no mapping called "${name}".`);

export function mappingRoutes(deps: AdminDeps, store: MappingVersionStore): AdminRoute[] {
  const issuersOf = (name: string) => deps.config.issuers.filter((i) => i.mapping === name).map((i) => i.id);

  /** Puts a saved version in force here at once, then tells every other process (they reload within a second). */
  const install = async (v: MappingVersion | null, name: string) => {
    deps.mappings.setOverride(name, v ? { version: v.version, definition: definitionOf(v) } : null);
    await deps.bus.publish({ kind: 'mapping', id: name });
  };

  return [
    defineRoute({
      method: 'get',
      path: '/mappings',
      tag: 'mappings',
      scope: 'admin:read',
      summary: 'Every mapping: from the configuration file, or a stored version overriding it',
      response: list(mappingSummarySchema),
      handler: async () => {
        const stored = new Map((await store.allActive()).map((v) => [v.name, v]));
        const names = [...new Set([...Object.keys(deps.config.mappings), ...stored.keys()])].sort();
        return {
          items: names.map((name) => {
            const v = stored.get(name);
            return {
              name,
              version: v?.version ?? null,
              source: v ? 'database' : 'file',
              hasFileMapping: name in deps.config.mappings,
              overridesFile: !!v && name in deps.config.mappings,
              issuers: issuersOf(name),
            };
          }),
          nextCursor: null,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/mappings/:name',
      tag: 'mappings',
      scope: 'admin:read',
      summary: 'The mapping in force',
      params: nameParams,
      response: mappingGetSchema,
      errors: [404],
      handler: async ({ params }) => {
        const v = await store.active(params.name);
        const hasFileMapping = Object.hasOwn(deps.config.mappings, params.name);
        if (v) return { name: v.name, version: v.version, source: 'database', hasFileMapping, overridesFile: hasFileMapping, mapping: v.document };
        const file = own(deps.config.mappings, params.name);
        if (!file) throw notFound(params.name);
        return { name: params.name, version: null, source: 'file', hasFileMapping, overridesFile: false, mapping: file };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/mappings/:name',
      tag: 'mappings',
      scope: 'admin:write',
      summary: 'Save a new version and put it in force (every instance within a second)',
      description: 'An invalid mapping answers 400 `mapping_invalid` with every problem and its path; the version in force stays.',
      params: nameParams,
      body: z.record(z.string(), z.unknown()),
      bodyIsMapping: true,
      response: mappingPutResponse,
      errors: [415],
      handler: async ({ params, req, actor }) => {
        const document = req.body as Record<string, unknown>;
        const { mapping, problems } = validateMappingDocument(document, '');
        if (!mapping) throw new MappingConfigError(problems);
        const v = await store.save(params.name, document, {
          createdBy: actor,
          onSaved: (trx, saved) =>
            recordAudit(trx, { type: 'mapping_saved', actor, source: 'admin', detail: { name: params.name, version: saved.version } }),
        });
        await install(v, params.name);
        return { name: v.name, version: v.version, overridesFile: Object.hasOwn(deps.config.mappings, params.name), mapping: v.document };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/mappings/:name',
      tag: 'mappings',
      scope: 'admin:write',
      summary: "Back to the configuration file's mapping (the stored versions stay for rollback)",
      params: nameParams,
      errors: [404, 409],
      handler: async ({ params, actor }) => {
        if (!(params.name in deps.config.mappings) && issuersOf(params.name).length) {
          throw new GatewayError('mapping_in_use', 409, `Issuers ${issuersOf(params.name).join(', ')} sign in with "${params.name}", which the configuration file does not define.`);
        }
        const done = await store.deactivate(params.name, {
          by: actor,
          onDone: (trx, was) => recordAudit(trx, { type: 'mapping_reset', actor, source: 'admin', detail: { name: params.name, previousVersion: was } }),
        });
        if (!done) throw new GatewayError('mapping_not_stored', 404, `No stored version of "${params.name}" is in force.`);
        await install(null, params.name);
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/mappings/:name/versions',
      tag: 'mappings',
      scope: 'admin:read',
      summary: 'Saved versions, newest first',
      params: nameParams,
      response: list(versionSchema),
      errors: [404],
      handler: async ({ params }) => {
        const versions = await store.versions(params.name);
        if (!versions.length && !(params.name in deps.config.mappings)) throw notFound(params.name);
        const active = await store.active(params.name);
        return {
          items: versions.map((v) => ({
            version: v.version,
            createdAt: v.createdAt,
            createdBy: v.createdBy,
            rolledBackFrom: v.rolledBackFrom,
            active: active?.version === v.version,
          })),
          nextCursor: null,
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/mappings/:name/rollback',
      tag: 'mappings',
      scope: 'admin:write',
      summary: 'Write a new version equal to an earlier one and put it in force',
      params: nameParams,
      body: rollbackBody,
      response: mappingPutResponse.extend({ rolledBackFrom: z.number().int() }),
      errors: [404],
      handler: async ({ params, body, actor }) => {
        const old = await store.get(params.name, body.version);
        if (!old) throw new GatewayError('version_not_found', 404, `"${params.name}" has no version ${body.version}.`);
        const v = await store.save(params.name, old.document, {
          createdBy: actor,
          rolledBackFrom: old.version,
          onSaved: (trx, saved) =>
            recordAudit(trx, { type: 'mapping_rollback', actor, source: 'admin', detail: { name: params.name, version: saved.version, from: old.version } }),
        });
        await install(v, params.name);
        return { name: v.name, version: v.version, overridesFile: Object.hasOwn(deps.config.mappings, params.name), mapping: v.document, rolledBackFrom: old.version };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/mappings/:name/preview',
      tag: 'mappings',
      scope: 'admin:read',
      summary: 'What a login with this token or these claims would do (the mapping in force, or a draft); writes nothing',
      description: 'A token is verified but its jti is not consumed. Answers the desired user, the stored user, the diff and the trace.',
      params: nameParams,
      body: previewBody,
      response: z.object({
        mapping: z.object({ name: z.string(), version: z.number().int().nullable(), source: z.string() }),
        issuer: z.string().nullable(),
        allowed: z.boolean(),
        denied: z.object({ code: z.string(), rule: z.string(), message: z.string() }).optional(),
        desired: z.record(z.string(), z.unknown()).nullable(),
        current: z.record(z.string(), z.unknown()).nullable(),
        diff: z.record(z.string(), z.unknown()).nullable(),
        producedBy: z.record(z.string(), z.record(z.string(), z.array(z.string()))).nullable(),
        trace: z.array(z.object({ path: z.string(), outcome: z.string(), values: z.unknown().optional(), detail: z.string().optional() })),
        groupLabels: z.record(z.string(), z.string()).optional(),
      }),
      errors: [404],
      handler: async ({ params, body }) => previewOne(deps, params.name, body),
    }),
    defineRoute({
      method: 'post',
      path: '/mappings/:name/preview-recent',
      tag: 'mappings',
      scope: 'admin:read',
      summary: 'Replay the last logins through a draft: who would gain or lose which role; writes nothing',
      params: nameParams,
      body: previewRecentBody,
      response: z.object({
        mapping: z.object({ name: z.string(), version: z.number().int().nullable(), source: z.string().nullable() }),
        issuers: z.array(z.string()),
        logins: z.number().int(),
        users: z.number().int(),
        changedUsers: z.number().int(),
        summary: z.record(z.string(), z.record(z.string(), z.object({ gained: z.array(z.string()), lost: z.array(z.string()) }))),
        items: z.array(z.record(z.string(), z.unknown())),
      }),
      handler: async ({ params, body }) => previewRecent(deps, params.name, body),
    }),
  ];
}
