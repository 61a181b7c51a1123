import { z } from 'zod';
import { MAPPABLE_USER_FIELDS, mappingSchema, nameRuleSchema } from '../mapping/schema.js';

/**
 * The one typed configuration (CONTRACT §2). Defaults live here and nowhere else; unknown keys are
 * rejected everywhere (strict objects). Cross-field rules live in ./validate.ts.
 */

/**
 * `${VAR}` substitution always yields strings; a number or boolean written through the environment
 * (`port: ${PORT}`) is read as YAML would have read it inline.
 */
const n = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v), schema);
const b = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), schema);

const seconds = (def: number) => n(z.number().int().positive().default(def));
const url = z.url({ message: 'must be an absolute URL' });
const path = z.string().regex(/^\/[^?#]*$/, 'must be an absolute path starting with "/"');

export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ALGORITHMS = [...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS] as const;

const secret = z.string().min(1, 'must not be empty');
/** Signing secrets: at least 32 bytes of UTF-8, checked in the schema so it is reported with every other problem. */
const secret32 = z.string().refine((s) => Buffer.byteLength(s, 'utf8') >= 32, {
  message: 'must be at least 32 bytes (generate one with: openssl rand -base64 48)',
});
const jwk = z.record(z.string(), z.unknown());

const oidcSchema = z.strictObject({
  clientId: z.string().min(1),
  /** Client secret (client_secret_basic / client_secret_post). */
  clientSecret: secret.optional(),
  authMethod: z
    .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
    .default('client_secret_basic'),
  /** Private JWK for private_key_jwt. */
  privateKey: jwk.optional(),
  scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']),
  /** `merge`: userinfo claims join the ID token's before mapping. */
  userinfo: z.enum(['ignore', 'merge']).default('ignore'),
  /** `form_post` needs an https publicUrl (the transaction cookie is SameSite=None; Secure). */
  responseMode: z.enum(['query', 'form_post']).default('query'),
  /** Ask the provider to end its session too at logout (RP-initiated logout) when it supports it. */
  endSessionAtProvider: b(z.boolean().default(true)),
  /** Re-map the session from the refresh token this often (0: never). */
  refreshIntervalSeconds: n(z.number().int().min(0).default(0)),
  /** Extra authorization request parameters (e.g. prompt, acr_values). */
  extraParams: z.record(z.string(), z.string()).default({}),
});

export const issuerSchema = z.strictObject({
  /** Short id used in URLs, logs and role sources (`mapping:<id>`). */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, "_" or "-"'),
  /** Exact `iss` value. */
  issuer: z.string().min(1),
  /** Any-match against `aud`. Required: a token for another audience must never sign anyone in. */
  audiences: z.array(z.string().min(1)).min(1, 'must list at least one audience'),
  jwksUri: url.optional(),
  /** Fetch `jwks_uri` from `<issuer>/.well-known/openid-configuration`. */
  discovery: b(z.boolean().optional()),
  keys: z.array(jwk).min(1).optional(),
  /** HMAC secret: the UTF-8 bytes of the string, at least 32 bytes. */
  sharedSecret: secret.optional(),
  /** Allowlist. `none` never; HS* never together with asymmetric algorithms. */
  algorithms: z.array(z.enum(ALGORITHMS, { message: `must be one of ${ALGORITHMS.join(', ')}` })).min(1),
  clockToleranceSeconds: n(z.number().int().min(0).max(300).default(30)),
  /** Reject any token whose `iat` is older than this. */
  maxTokenAgeSeconds: n(z.number().int().positive().optional()),
  /** Accept http for a non-loopback issuer (refused when publicUrl is https). */
  allowInsecureHttp: b(z.boolean().default(false)),
  /** Remote key set tuning (jose createRemoteJWKSet). */
  jwks: z
    .strictObject({
      timeoutMs: n(z.number().int().positive().default(5000)),
      /** An unknown `kid` refetches at most once per cooldown. */
      cooldownSeconds: n(z.number().int().min(0).default(30)),
      cacheMaxAgeSeconds: n(z.number().int().positive().default(600)),
    })
    .prefault({}),
  ssoLink: z
    .strictObject({
      enabled: b(z.boolean().default(false)),
      requireJti: b(z.boolean().default(true)),
      maxTokenAgeSeconds: n(z.number().int().positive().default(120)),
    })
    .prefault({}),
  createUsers: b(z.boolean().default(true)),
  linkExistingUsers: b(z.boolean().default(false)),
  oidc: oidcSchema.optional(),
  /** Name of a mapping in `mappings` (or one stored through the admin API). */
  mapping: z.string().min(1),
});

const routeSchema = z.strictObject({
  /** Exact path, or a prefix ending in `/*` (which also matches the prefix itself). */
  path,
  methods: z.array(z.string().min(1)).optional(),
  public: b(z.boolean().optional()),
  anyRole: z.array(z.string().min(1)).optional(),
  allRoles: z.array(z.string().min(1)).optional(),
  anyPermission: z.array(z.string().min(1)).optional(),
});

const headerName = z.string().regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name');

export const configSchema = z.strictObject({
  /** Cookies, redirects and the assertion's `iss` (exactly as configured). */
  publicUrl: url,
  listen: z
    .strictObject({
      host: z.string().default('0.0.0.0'),
      port: n(z.number().int().min(0).max(65535).default(8080)),
      /** Processes sharing the port. Default: cores (max 4); always 1 with the embedded database. */
      workers: n(z.number().int().min(1).max(64).optional()),
    })
    .prefault({}),
  basePath: path.default('/claimgate'),
  database: z
    .strictObject({
      /** Empty: the embedded PostgreSQL (PGlite) in dataDir. */
      url: z.string().default(''),
      dataDir: z.string().default('./.claimgate/data'),
      migrate: b(z.boolean().default(true)),
      poolMax: n(z.number().int().positive().default(10)),
      connectionTimeoutMs: n(z.number().int().positive().default(5000)),
      statementTimeoutMs: n(z.number().int().positive().default(15000)),
    })
    .prefault({}),
  session: z
    .strictObject({
      /** At least 32 bytes. A list rotates: the first signs, all verify. */
      secret: z.union([secret32, z.array(secret32).min(1)]).transform((s) => (Array.isArray(s) ? s : [s])),
      cookieName: z.string().regex(/^[A-Za-z0-9_-]+$/).default('claimgate_session'),
      /** `none` for embedded dashboards (requires https). */
      sameSite: z.enum(['lax', 'strict', 'none']).default('lax'),
      idleTimeoutSeconds: seconds(1800),
      absoluteTimeoutSeconds: seconds(28800),
    }),
  returnTo: z.strictObject({ allowedOrigins: z.array(url).default([]) }).prefault({}),
  upstream: z.strictObject({
    url,
    mode: z.enum(['proxy', 'forward-auth', 'redirect']).default('proxy'),
    timeoutSeconds: seconds(60),
    redirect: z
      .strictObject({
        url,
        /** Output claim -> expression over the signed-in user (usercode, roles, permissions, attributes...). */
        claims: z.record(z.string().min(1), z.string().min(1)).default({ usercode: 'usercode', roles: 'roles' }),
        alg: z.enum(['HS256', 'HS384', 'HS512', 'RS256', 'ES256']).default('HS256'),
        sharedSecret: secret.optional(),
        privateKey: jwk.optional(),
        /** Query parameter that carries the token. */
        param: z.string().min(1).default('jwt'),
        ttlSeconds: n(z.number().int().positive().max(600).default(60)),
      })
      .optional(),
  }),
  forwarding: z
    .strictObject({
      headerNames: z
        .strictObject({
          user: headerName.default('X-Claimgate-User'),
          userId: headerName.default('X-Claimgate-User-Id'),
          email: headerName.default('X-Claimgate-Email'),
          name: headerName.default('X-Claimgate-Name'),
          roles: headerName.default('X-Claimgate-Roles'),
          permissions: headerName.default('X-Claimgate-Permissions'),
          assertion: headerName.default('X-Claimgate-Assertion'),
        })
        .prefault({}),
      forwardedHeaders: b(z.boolean().default(true)),
    })
    .prefault({}),
  issuers: z.array(issuerSchema).default([]),
  mappings: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), mappingSchema).default({}),
  provisioning: z
    .strictObject({
      scim: z
        .strictObject({
          groupRoles: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
          allowedRoles: z.array(z.string()).optional(),
          /** Role rules (the forms of a mapping's roles) over the SCIM User resource as received. */
          userRoles: z.array(nameRuleSchema).default([]),
          /** Enterprise extension attribute -> profile field or `attributes.<name>` (null: ignored). */
          enterprise: z
            .strictObject(
              Object.fromEntries(
                ['employeeNumber', 'department', 'costCenter', 'organization', 'division', 'manager'].map((f) => [
                  f,
                  z
                    .union([
                      z.null(),
                      z.enum(MAPPABLE_USER_FIELDS.filter((x) => x !== 'usercode' && x !== 'tags') as [string, ...string[]]),
                      z.string().regex(/^attributes\.[A-Za-z0-9_.-]{1,64}$/, 'must be a profile field or attributes.<name>'),
                    ])
                    .optional(),
                ]),
              ),
            )
            .prefault({}),
          /** Written to idp_source of SCIM users (e.g. AAD); unset leaves it alone. */
          idpSource: z.string().min(1).max(64).optional(),
        })
        .prefault({}),
      api: z.strictObject({ allowedRoles: z.array(z.string()).optional() }).prefault({}),
      events: z
        .strictObject({
          jwksUri: url,
          appId: z.string().min(1),
          /** Hex AES key: 64, 48 or 32 hex characters. */
          decryptionKey: z.string().regex(/^([0-9a-fA-F]{32}|[0-9a-fA-F]{48}|[0-9a-fA-F]{64})$/, 'must be 32, 48 or 64 hex characters').optional(),
          issuer: z.string().default('urn:alibaba:idaas:app:event'),
          groupRoles: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
          allowedRoles: z.array(z.string()).optional(),
          clockToleranceSeconds: n(z.number().int().min(0).default(60)),
          /** Peers (CIDRs or addresses) pushes are accepted from; empty: any. */
          allowedSources: z.array(z.string().min(1)).default([]),
          /** Largest push body accepted. */
          maxBodyBytes: n(z.number().int().positive().max(256 * 1024 * 1024).default(16 * 1024 * 1024)),
          /** Written to idp_source of event users; users written as `events` before stay recognised. */
          idpSource: z.string().min(1).max(64).default('IDAAS'),
        })
        .optional(),
      /** Lifetime of /oauth/token access tokens. */
      tokenTtlSeconds: n(z.number().int().positive().max(86400).default(900)),
    })
    .prefault({}),
  jobs: z
    .strictObject({
      deletion: z
        .strictObject({
          enabled: b(z.boolean().default(true)),
          at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM').default('02:00'),
          timeZone: z.string().default('UTC'),
          dryRun: b(z.boolean().default(false)),
          /** Extra whole days a suspended user keeps its rights beyond the day of its suspension. */
          graceDays: n(z.number().int().min(0).max(365).default(0)),
        })
        .prefault({}),
      profile: z
        .strictObject({
          intervalSeconds: seconds(300),
          directory: z
            .strictObject({
              /** e.g. https://directory.example/users/{usercode} */
              urlTemplate: z.string().min(1),
              mapping: z.record(z.string(), z.string()).default({}),
              headers: z.record(z.string(), z.string()).default({}),
              timeoutMs: n(z.number().int().positive().default(5000)),
              concurrency: n(z.number().int().positive().max(64).default(4)),
            })
            .optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  rateLimits: z
    .strictObject({
      sso: z.strictObject({ perMinute: n(z.number().int().positive().default(600)) }).prefault({}),
      token: z.strictObject({ perMinute: n(z.number().int().positive().default(60)) }).prefault({}),
      events: z.strictObject({ perMinute: n(z.number().int().positive().default(600)) }).prefault({}),
      adminAuth: z.strictObject({ perMinute: n(z.number().int().positive().default(30)) }).prefault({}),
    })
    .prefault({}),
  limits: z
    .strictObject({
      bodyBytes: n(z.number().int().positive().default(1048576)),
      /** Largest accepted JWT, in bytes. */
      tokenBytes: n(z.number().int().positive().max(1048576).default(16384)),
    })
    .prefault({}),
  logs: z
    .strictObject({
      level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
      requestRetentionDays: n(z.number().int().positive().default(30)),
      /** Per row kind; a kind left out keeps requestRetentionDays. */
      retentionDays: z
        .strictObject({
          request: n(z.number().int().positive()).optional(),
          payload: n(z.number().int().positive()).optional(),
          exception: n(z.number().int().positive()).optional(),
        })
        .prefault({}),
      /** How much of the client address request-log rows keep. */
      clientIp: z.enum(['full', 'truncated', 'none']).default('truncated'),
    })
    .prefault({}),
  metrics: z
    .strictObject({ listen: z.union([z.null(), z.string().min(1)]).default(null) })
    .prefault({}),
  /** Peers whose X-Forwarded-* / X-Original-URI are believed. Default: none. */
  trustedProxies: z.array(z.string().min(1)).default([]),
  routes: z.array(routeSchema).default([]),
  assertion: z
    .strictObject({
      /** Private ES256 JWKs; the first signs, all are published. Default: generated once, kept in the database. */
      keys: z.array(jwk).optional(),
      ttlSeconds: n(z.number().int().min(5).max(60).default(60)),
    })
    .prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type IssuerConfig = z.output<typeof issuerSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
