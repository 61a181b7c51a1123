import { MAX_RESULTS } from './deps.js';
import { ENTERPRISE_USER, GROUP_KIND, LIST_SCHEMA, USER_KIND, type AttrDef, type ResourceKind, type SchemaDef } from './schema.js';
import type { JsonObject } from './values.js';

/** RFC 7644 (section 4) discovery: ServiceProviderConfig, ResourceTypes and Schemas (the last two as ListResponses). */

export function serviceProviderConfig(baseUrl: string): JsonObject {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: 'https://github.com/claimgate/claimgate#scim',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'A static token from `claimgate tokens create --scopes scim`, or an access token from /oauth/token.',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

export function resourceType(kind: ResourceKind, baseUrl: string): JsonObject {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id: kind.name,
    name: kind.name,
    endpoint: kind.endpoint,
    description: kind.core.description,
    schema: kind.core.id,
    schemaExtensions: kind.extensions.map((e) => ({ schema: e.id, required: false })),
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${kind.name}` },
  };
}

function attribute(a: AttrDef): JsonObject {
  return {
    name: a.name,
    type: a.type,
    multiValued: !!a.multiValued,
    description: a.description ?? a.name,
    required: !!a.required,
    caseExact: !!a.caseExact,
    mutability: a.mutability ?? 'readWrite',
    returned: a.returned ?? 'default',
    uniqueness: a.uniqueness ?? 'none',
    ...(a.subAttributes ? { subAttributes: a.subAttributes.map(attribute) } : {}),
  };
}

export function schemaResource(s: SchemaDef, baseUrl: string): JsonObject {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: s.attributes.filter((a) => a.name !== 'id' && a.name !== 'meta' && a.name !== 'externalId').map(attribute),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${s.id}` },
  };
}

export const KINDS = [USER_KIND, GROUP_KIND];
export const SCHEMAS: SchemaDef[] = [USER_KIND.core, ENTERPRISE_USER, GROUP_KIND.core];

export function list(resources: JsonObject[]): JsonObject {
  return { schemas: [LIST_SCHEMA], totalResults: resources.length, startIndex: 1, itemsPerPage: resources.length, Resources: resources };
}
