import { z } from 'zod';

/**
 * Configuration of identity-provider specifics: presets, Entra ID, Google, the egress proxy and the
 * inactivity step. Kept apart from schema.ts so provider work does not crowd the main schema.
 */

const n = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v), schema);
const b = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), schema);
const url = z.url({ message: 'must be an absolute URL' });

export const PRESETS = ['entra', 'okta', 'keycloak', 'auth0', 'google'] as const;
export type PresetName = (typeof PRESETS)[number];

export const presetSchema = z.enum(PRESETS, { message: `must be one of ${PRESETS.join(', ')}` });

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const graphSchema = z.strictObject({
  clientId: z.string().min(1),
  clientSecret: z.string().min(1, 'must not be empty').optional(),
  /** Private JWK for a client assertion (its `x5t`, when present, goes into the assertion header). */
  privateKey: z.record(z.string(), z.unknown()).optional(),
  groupField: z.enum(['id', 'displayName']).default('id'),
  always: b(z.boolean().default(false)),
  cacheSeconds: n(z.number().int().min(0).default(300)),
  authorityUrl: url.default('https://login.microsoftonline.com'),
  graphUrl: url.default('https://graph.microsoft.com'),
  /** The whole Graph lookup of one sign-in (token, pages, throttling waits) must finish within this. */
  timeoutMs: n(z.number().int().positive().max(60000).default(10000)),
});

export const entraSchema = z.strictObject({
  tenants: z.array(z.string().regex(GUID, 'must be a tenant id (GUID)')).default([]),
  graph: graphSchema.optional(),
});

export const googleSchema = z.strictObject({
  /** Workspace domains whose accounts may sign in (the token's `hd`). Empty: any account, personal ones too. */
  hostedDomains: z.array(z.string().min(1)).default([]),
});

export const egressSchema = z.strictObject({
  /** Forward proxy for identity-side calls. Default: HTTPS_PROXY / HTTP_PROXY. */
  proxy: url.optional(),
  /** Host suffixes or CIDR ranges reached directly. Default: NO_PROXY. */
  noProxy: z.array(z.string().min(1)).optional(),
});

export const inactivitySchema = z.strictObject({
  suspendAfterDays: n(z.number().int().positive().max(3650)),
  userTypes: z.array(z.string().min(1)).min(1).default(['PERSON']),
});

export type GraphConfig = z.output<typeof graphSchema>;
export type EntraConfig = z.output<typeof entraSchema>;
export type EgressConfig = z.output<typeof egressSchema>;
export type InactivityConfig = z.output<typeof inactivitySchema>;
