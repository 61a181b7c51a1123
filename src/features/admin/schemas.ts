import { z } from 'zod';
import { isEmailAddress } from '../../core/mapping/values.js';
import { ownJsonObject } from '../../core/config/own-record.js';
import { SCOPES } from '../../core/credentials/index.js';
import { LIFECYCLES } from '../../store/users/index.js';

/**
 * The request and response shapes of the admin API. The routes validate with these, and the OpenAPI document is
 * generated from them (src/features/admin/openapi.ts), so the two cannot drift.
 */

export const limitParam = (max: number, dflt: number) =>
  z.coerce.number().int().min(1).max(max).default(dflt).describe(`Page size (1-${max}, default ${dflt}).`);
const cursorParam = z.string().max(2000).optional().describe('`nextCursor` of the previous page.');
const time = z.string().describe('RFC 3339 time.');
const sinceParam = z.iso.datetime({ offset: true }).optional().describe('Only entries at or after this RFC 3339 time.');

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().describe('Stable error code.'),
    problems: z.array(z.object({ path: z.string(), message: z.string(), hint: z.string().optional() })).optional(),
  })
  .describe('RFC 9457 problem document (application/problem+json).');

export const idParams = z.object({ id: z.string().min(1).max(200).describe('User id (ULID) or usercode.') });
export const nameParams = z.object({ name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be a mapping or credential name') });

// ---- users -------------------------------------------------------------------------------------------------

const grant = z.object({ name: z.string(), source: z.string().describe('mapping:<issuer>, scim, api, events or admin') });
export const userSchema = z.object({
  id: z.string(),
  usercode: z.string(),
  lifecycle: z.enum(LIFECYCLES as [string, ...string[]]),
  status: z.array(z.object({ name: z.string(), status: z.string(), detail: z.string().optional(), at: time })),
  idpSource: z.string().nullable(),
  idpReferenceId: z.string().nullable(),
  idpUsername: z.string().nullable(),
  idpWorkforceId: z.string().nullable(),
  idpCloudUsername: z.string().nullable(),
  displayName: z.string().nullable(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  email: z.string().nullable(),
  userType: z.enum(['PERSON', 'SERVICE']),
  tags: z.array(z.string()),
  roles: z.array(grant),
  permissions: z.array(grant),
  attributes: z.record(z.string(), z.array(z.object({ source: z.string(), values: z.array(z.string()) }))),
  identities: z.array(z.object({ issuerId: z.string(), iss: z.string(), sub: z.string(), createdAt: time })),
  version: z.number().int(),
  suspendedAt: time.nullable(),
  deprovisionedAt: time.nullable(),
  createdAt: time,
  updatedAt: time,
  lastLoginAt: time.nullable(),
  lastActivityAt: time.nullable(),
});

export const listUsersQuery = z.strictObject({
  q: z.string().max(200).optional().describe('Substring of usercode, e-mail, display name or an IdP identifier (case-insensitive).'),
  lifecycle: z.enum(LIFECYCLES as [string, ...string[]]).optional(),
  role: z.string().max(200).optional().describe('Only users holding this role (from any source).'),
  limit: limitParam(200, 50),
  cursor: cursorParam,
});

const profileText = z.string().max(1000).nullable();
const names = z.array(z.string().min(1).max(200)).max(1000);

/** JSON merge patch (RFC 7396) of a user: `null` clears a field (or, for adminRoles, every admin-granted role). */
export const userPatchSchema = z
  .strictObject({
    lifecycle: z.enum(LIFECYCLES as [string, ...string[]]).optional().describe('SUSPENDED ends every session at once.'),
    email: profileText.refine((v) => v === null || isEmailAddress(v), 'must be a single e-mail address').optional(),
    displayName: profileText.optional(),
    firstName: profileText.optional(),
    lastName: profileText.optional(),
    idpSource: profileText.optional(),
    idpReferenceId: profileText.optional(),
    idpUsername: profileText.optional(),
    idpWorkforceId: profileText.optional(),
    idpCloudUsername: profileText.optional(),
    userType: z.enum(['PERSON', 'SERVICE']).optional(),
    tags: names.nullable().optional(),
    adminRoles: names.nullable().optional().describe('Roles granted with source `admin`; they survive logins.'),
    adminPermissions: names.nullable().optional().describe('Permissions granted with source `admin`.'),
  })
  .describe('JSON merge patch (application/merge-patch+json or application/json).');

export const sessionSchema = z.object({
  ref: z.string().describe('Names this session for `DELETE …/users/:id/sessions/:ref`; not its cookie, nor derivable into one.'),
  issuerId: z.string().nullable(),
  createdAt: time,
  lastSeenAt: time,
  idleExpiresAt: time,
  absoluteExpiresAt: time,
});

// ---- mappings ----------------------------------------------------------------------------------------------

const mappingDocument = z.record(z.string(), z.unknown()).describe('A claim mapping, as described in docs/mapping-language.md.');
export const mappingSummarySchema = z.object({
  name: z.string(),
  version: z.number().int().nullable().describe('null: the configuration file mapping.'),
  source: z.enum(['file', 'database']),
  hasFileMapping: z.boolean(),
  overridesFile: z.boolean().describe("True when a stored version is in force instead of the configuration file's mapping of that name."),
  issuers: z.array(z.string()).describe('Issuers that sign in with this mapping.'),
});
export const mappingGetSchema = z.object({
  name: z.string(),
  version: z.number().int().nullable(),
  source: z.enum(['file', 'database']),
  hasFileMapping: z.boolean(),
  overridesFile: z.boolean().describe("True when this stored version is in force instead of the configuration file's mapping."),
  mapping: mappingDocument,
});
export const mappingPutResponse = z.object({
  name: z.string(),
  version: z.number().int(),
  overridesFile: z.boolean().describe("True when the configuration file has a mapping of this name, which this version now overrides."),
  mapping: mappingDocument,
});
export const versionSchema = z.object({
  version: z.number().int(),
  createdAt: time,
  createdBy: z.string().nullable(),
  rolledBackFrom: z.number().int().nullable(),
  active: z.boolean(),
});
export const rollbackBody = z.strictObject({ version: z.number().int().min(1) });

export const previewBody = z
  .strictObject({
    token: z.string().min(10).max(65536).optional().describe('A token of a trusted issuer; verified, never consumed or stored.'),
    claims: ownJsonObject().optional().describe('Raw claims, as if verified.'),
    issuer: z.string().optional().describe('Issuer id for `claims` (default: the first issuer using this mapping).'),
    user: z.string().optional().describe('Compare with this stored user (usercode) instead of the mapped one.'),
    mapping: mappingDocument.optional().describe('An unsaved draft to evaluate instead of the mapping in force.'),
  })
  .refine((b) => (b.token === undefined) !== (b.claims === undefined), { message: 'give exactly one of token or claims', path: ['token'] });

export const previewRecentBody = z.strictObject({
  mapping: mappingDocument.describe('The draft to compare with the mapping in force.'),
  limit: z.number().int().min(1).max(10000).default(100).describe('How many of the most recent logins to replay.'),
});

// ---- tokens ------------------------------------------------------------------------------------------------

export const credentialSchema = z.object({
  id: z.string(),
  name: z.string(),
  clientId: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  createdBy: z.string().nullable(),
  createdAt: time,
  expiresAt: time.nullable(),
  lastUsedAt: time.nullable(),
  revokedAt: time.nullable(),
});
export const tokenCreateBody = z.strictObject({
  name: z.string().min(1).max(64),
  scopes: z.array(z.enum(SCOPES)).min(1),
  expiresIn: z
    .string()
    .regex(/^[1-9]\d{0,5}[smhdw]$/, 'like 90d, 12h, 30m or 3600s')
    .optional()
    .describe('Lifetime, e.g. 90d; none: until revoked.'),
});
export const tokenCreated = credentialSchema.extend({
  token: z.string().describe('Bearer token, shown once.'),
  clientSecret: z.string().describe('Secret for /oauth/token, shown once.'),
});
export const tokensQuery = z.strictObject({ includeRevoked: z.enum(['true', 'false']).optional() });

// ---- audit and request logs --------------------------------------------------------------------------------

export const auditQuery = z.strictObject({
  type: z.string().max(100).optional().describe('Event type, e.g. login, login_denied, role_change, lifecycle_change; comma-separated for several.'),
  user: z.string().max(200).optional().describe('User id or usercode.'),
  role: z.string().max(200).optional().describe('Only role/permission changes that added or removed this name.'),
  since: sinceParam,
  until: sinceParam.describe('Only entries before this RFC 3339 time.'),
  limit: limitParam(500, 100),
  cursor: cursorParam,
});
export const auditEventSchema = z.object({
  id: z.string(),
  at: time,
  type: z.string(),
  userId: z.string().nullable(),
  usercode: z.string().nullable(),
  actor: z.string().nullable(),
  source: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
});

export const requestLogQuery = z.strictObject({
  kind: z.enum(['request', 'payload', 'exception']).optional(),
  requestId: z.string().max(100).optional(),
  since: sinceParam,
  limit: limitParam(500, 100),
  cursor: cursorParam,
});
export const requestLogSchema = z.object({
  id: z.string(),
  at: time,
  kind: z.enum(['request', 'payload', 'exception']),
  requestId: z.string(),
  method: z.string(),
  path: z.string(),
  status: z.number().int().nullable(),
  clientIp: z.string().nullable(),
  client: z.string().nullable(),
  durationMs: z.number().int().nullable(),
  detail: z.record(z.string(), z.unknown()),
});

export const jobSchema = z.object({ name: z.string(), description: z.string(), lastRun: z.record(z.string(), z.unknown()).nullable() });

export const list = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
