import { z } from 'zod';
import { defaultRuleSchema, mapRuleSchema, patternRuleSchema, whenRuleSchema } from '../../core/mapping/schema.js';
import type { AdminRoute } from './route-table.js';
import { problemSchema } from './schemas.js';

type Json = Record<string, unknown>;

const jsonSchema = (s: z.ZodType, io: 'input' | 'output'): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  return rest;
};

/** A rule of `roles`/`permissions` (the mapping schema picks the form at run time, which JSON Schema cannot see). */
const ruleSchema = (): Json => ({
  oneOf: [mapRuleSchema, patternRuleSchema, whenRuleSchema, defaultRuleSchema].map((s) => jsonSchema(s, 'input')),
});

/**
 * The OpenAPI 3.1 document of the admin API, generated from the route table: the same zod schemas that validate
 * every request describe it here (OpenAPI 3.1 uses JSON Schema 2020-12, which is what `z.toJSONSchema` emits).
 */
export function buildOpenApi(routes: AdminRoute[], opts: { basePath: string; publicUrl: string; version: string; mappingSchema: z.ZodType }): Json {
  const paths: Record<string, Json> = {};
  const STATUS_TEXT: Record<number, string> = {
    400: 'Invalid request (every problem with its path).',
    401: 'No, an invalid, expired or revoked credential.',
    403: 'The credential lacks the scope.',
    404: 'Not found.',
    409: 'Conflict.',
    413: 'Body too large.',
    415: 'Unsupported media type.',
  };
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters: Json[] = [];
    for (const [where, schema] of [
      ['path', r.params],
      ['query', r.query],
    ] as const) {
      if (!schema) continue;
      const js = jsonSchema(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
      for (const [name, prop] of Object.entries(js.properties ?? {})) {
        const { description, ...rest } = prop as Json;
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (js.required ?? []).includes(name),
          ...(description ? { description } : {}),
          schema: rest,
        });
      }
    }
    const responses: Json = {};
    if (r.response) responses['200'] = { description: 'OK', content: { 'application/json': { schema: linkMapping(jsonSchema(r.response, 'output')) } } };
    else responses['204'] = { description: 'Done.' };
    for (const status of [...new Set([400, 401, 403, ...(r.errors ?? [])])].sort()) {
      responses[String(status)] = { $ref: `#/components/responses/E${status}`, description: STATUS_TEXT[status] ?? 'Error.' };
    }
    const op: Json = {
      operationId: `${r.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      security: [{ bearer: [r.scope] }],
      'x-required-scope': r.scope,
      ...(parameters.length ? { parameters } : {}),
      responses,
    };
    if (r.body) {
      const schema = r.bodyIsMapping ? { $ref: '#/components/schemas/Mapping' } : linkMapping(jsonSchema(r.body, 'input'));
      op.requestBody = {
        required: true,
        content: Object.fromEntries((r.bodyTypes ?? ['application/json']).map((t) => [t, { schema }])),
      };
    }
    (paths[path] ??= {})[r.method] = op;
  }
  const statuses = [400, 401, 403, 404, 409, 413, 415];
  return {
    openapi: '3.1.0',
    info: {
      title: 'claimgate admin API',
      version: opts.version,
      description: 'Users, versioned claim mappings with preview, API credentials, the audit trail and request logs. Errors are application/problem+json with a stable `code`.',
    },
    servers: [{ url: `${opts.publicUrl.replace(/\/+$/, '')}${opts.basePath}/admin/v1` }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A `claimgate tokens create` token or an /oauth/token access token with admin:read or admin:write.' },
      },
      schemas: { Problem: jsonSchema(problemSchema, 'output'), Mapping: withRules(jsonSchema(opts.mappingSchema, 'input')) },
      responses: Object.fromEntries(
        statuses.map((s) => [`E${s}`, { description: STATUS_TEXT[s], content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } }]),
      ),
    },
  };
}

/** A `mapping` member (an opaque document to the validator, which reports its problems itself) points at Mapping. */
function linkMapping(schema: Json): Json {
  const props = schema.properties as Record<string, Json> | undefined;
  if (props?.mapping) {
    const { description } = props.mapping;
    props.mapping = { $ref: '#/components/schemas/Mapping', ...(description ? { description } : {}) };
  }
  return schema;
}

/** Fills the opaque rule lists of a mapping schema with the rule forms. */
function withRules(schema: Json): Json {
  const props = schema.properties as Record<string, Json> | undefined;
  if (!props) return schema;
  for (const list of ['roles', 'permissions']) {
    const p = props[list];
    if (p && p.type === 'array') p.items = ruleSchema();
  }
  return schema;
}
