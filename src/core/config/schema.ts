import { z } from 'zod';
import { MAPPABLE_USER_FIELDS, mappingSchema, nameRuleSchema } from '../mapping/schema.js';
import { dict } from '../own-keys.js';
import { ownRecord } from './own-record.js';
import { egressSchema, entraSchema, googleSchema, inactivitySchema, presetSchema } from './idp-schema.js';
import { applyIssuerPreset } from './presets.js';
import { DEFAULT_STRIPPED_REQUEST_HEADERS } from '../upstream/stripped-headers.js';

/**
 * The one typed configuration (docs/configuration.md is generated from it). Defaults live here and nowhere else; unknown keys are
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
  clientId: z.string().min(1).describe('Client id registered at the provider; the issuer\'s `audiences` must include it, because ID tokens pass the trust map too.'),
  clientSecret: secret.optional().describe('Client secret, required with `client_secret_basic` and `client_secret_post`.'),
  authMethod: z
    .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
    .default('client_secret_basic')
    .describe('Client authentication at the token endpoint (`private_key_jwt` needs `privateKey`).'),
  privateKey: jwk.optional().describe('Private JWK for `private_key_jwt`; its `kid` is sent and its `alg` used (else ES256 for EC, EdDSA for OKP, RS256 otherwise).'),
  scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']).describe('Requested scopes; must include `openid`.'),
  userinfo: z.enum(['ignore', 'merge']).default('ignore')
    .describe('`merge`: userinfo claims join the ID token\'s before mapping, but must have the same `sub` and never replace protocol claims.'),
  responseMode: z.enum(['query', 'form_post']).default('query')
    .describe('`form_post` needs an https `publicUrl`, because its transaction cookie must be `SameSite=None; Secure`.'),
  endSessionAtProvider: b(z.boolean().default(true))
    .describe('At logout, also end the session at the provider (RP-initiated logout) when it has an `end_session_endpoint`.'),
  refreshIntervalSeconds: n(z.number().int().min(0).default(0))
    .describe('Re-map a long session from the provider\'s refresh token this often (0: never).'),
  extraParams: ownRecord(z.string(), z.string()).default(() => dict<never>())
    .describe('Extra authorization request parameters (`prompt`, `acr_values`, ...); protocol parameters such as `state`, `nonce` or PKCE cannot be overridden.'),
});

const issuerObjectSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, "_" or "-"')
    .describe('Short unique id (1-64 letters, digits, `_`, `-`) used in URLs, logs and the role source `mapping:<id>`.'),
  issuer: z.string().min(1).describe('The exact `iss` value of this issuer\'s tokens (unique).'),
  audiences: z.array(z.string().min(1)).min(1, 'must list at least one audience')
    .describe('Accepted `aud` values (any match); required, so a token made for another audience never signs anyone in.'),
  jwksUri: url.optional().describe('Key source: a JWKS URL.'),
  discovery: b(z.boolean().optional())
    .describe('Key source: `true` reads `jwks_uri` from `<issuer>/.well-known/openid-configuration`, which must name exactly this issuer.'),
  keys: z.array(jwk).min(1).optional().describe('Key source: inline public JWKs (a key with `d` or `k` is refused, so no secret sits in the file by mistake).'),
  sharedSecret: secret.optional().describe('Key source: an HMAC secret (the UTF-8 bytes of the string, at least 32 bytes), for HS* algorithms only.'),
  algorithms: z.array(z.enum(ALGORITHMS, { message: `must be one of ${ALGORITHMS.join(', ')}` })).min(1)
    .describe('Algorithm allowlist; HS* never together with asymmetric ones, so a public key can never serve as an HMAC secret.'),
  clockToleranceSeconds: n(z.number().int().min(0).max(300).default(30)).describe('Allowed clock skew for `exp`, `nbf` and `iat`.'),
  maxTokenAgeSeconds: n(z.number().int().positive().optional())
    .describe('Refuse any token (link or bearer) whose `iat` is older than this; setting it makes `iat` required.'),
  allowInsecureHttp: b(z.boolean().default(false))
    .describe('Accept http URLs for a non-loopback issuer; refused when `publicUrl` is https.'),
  jwks: z
    .strictObject({
      timeoutMs: n(z.number().int().positive().default(5000)).describe('Timeout for fetching the key set and the discovery document.'),
      cooldownSeconds: n(z.number().int().min(0).default(30))
        .describe('An unknown `kid` refetches the key set at most once per cooldown, and a failed fetch waits for it, so tokens cannot flood the IdP.'),
      cacheMaxAgeSeconds: n(z.number().int().positive().default(600)).describe('How long a fetched key set is used before it is refetched.'),
    })
    .prefault({})
    .describe('Tuning of the remote key set.'),
  ssoLink: z
    .strictObject({
      enabled: b(z.boolean().default(false)).describe('Accept this issuer\'s tokens as sign-in links at `/claimgate/sso`.'),
      requireJti: b(z.boolean().default(true))
        .describe('Links must carry a `jti` (at most 256 characters), accepted once per issuer, so a leaked link cannot be replayed.'),
      maxTokenAgeSeconds: n(z.number().int().positive().default(120))
        .describe('Maximum age of a link, measured from `iat`; the stricter of this and `maxTokenAgeSeconds` applies.'),
    })
    .prefault({})
    .describe('Sign-in links (`/claimgate/sso`) for this issuer.'),
  createUsers: b(z.boolean().default(true)).describe('`false`: only users that already exist may sign in (`user_not_provisioned`).'),
  linkExistingUsers: b(z.boolean().default(false))
    .describe('`true`: a login whose usercode matches a user bound to another (issuer, `sub`) joins it instead of `identity_conflict`; only for issuers trusted to assert the same people.'),
  oidc: oidcSchema.optional().describe('Turns on the redirect login (OpenID Connect authorization code flow) for this issuer.'),
  mapping: z.string().min(1).describe('Name of a mapping in `mappings`, or of one stored through the admin API.'),
  preset: presetSchema.optional().describe('Provider defaults (`entra`, `okta`, `keycloak`, `auth0`, `google`: see docs/providers/README.md); keys stated on the issuer win.'),
  acceptAzpAsAudience: b(z.boolean().default(false))
    .describe('Let `azp` satisfy `audiences` when `aud` does not (Keycloak access tokens carry the client in `azp`).'),
  entra: entraSchema.optional().describe('Microsoft Entra ID: the tenants a `{tenantid}` issuer accepts, and Microsoft Graph for group overage.'),
  google: googleSchema.optional().describe('Google: the Workspace domains (`hd`) allowed to sign in.'),
});

export const issuerSchema = z.preprocess(applyIssuerPreset, issuerObjectSchema);

const routeSchema = z.strictObject({
  path: path.describe('An exact path (`/reports`, also matching `/reports/`) or a prefix `/x/*`, which also matches `/x`.'),
  methods: z.array(z.string().min(1)).optional().describe('Restrict the rule to these methods (`GET` also covers `HEAD`); default: all.'),
  public: b(z.boolean().optional())
    .describe('`true`: passes without sign-in (client `X-Claimgate-*` headers are still stripped); cannot be combined with role lists.'),
  anyRole: z.array(z.string().min(1)).optional().describe('At least one of these roles.'),
  allRoles: z.array(z.string().min(1)).optional().describe('Every one of these roles.'),
  anyPermission: z.array(z.string().min(1)).optional().describe('At least one of these permissions.'),
});

const headerName = z.string().regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name');

/** SCIM group (displayName or externalId) -> role(s); also the body of the admin API's SCIM role rules. */
export const scimGroupRolesSchema = ownRecord(z.string(), z.union([z.string(), z.array(z.string())]));
/** Role rules evaluated against a SCIM User resource; also the body of the admin API's SCIM role rules. */
export const scimUserRolesSchema = z.array(nameRuleSchema);

export const configSchema = z.strictObject({
  publicUrl: url.describe(
    'The URL users open: sets the cookie\'s `Secure` flag, the origin of same-origin redirects and the assertion\'s `iss`, exactly as written; it can never be a trusted issuer.',
  ),
  listen: z
    .strictObject({
      host: z.string().default('0.0.0.0').describe('Address to listen on.'),
      port: n(z.number().int().min(0).max(65535).default(8080)).describe('Port; the `PORT` environment variable overrides it.'),
      workers: n(z.number().int().min(1).max(64).optional())
        .describe('Processes sharing the port (default: cores, at most 4); always 1 with the embedded database, which one process owns.'),
    })
    .prefault({})
    .describe('Where the gateway listens.'),
  basePath: path.default('/claimgate')
    .describe('Prefix of every gateway route (not `/`, no trailing `/`); every other path belongs to the app.'),
  database: z
    .strictObject({
      url: z.string().default('')
        .describe('A PostgreSQL URL (`DATABASE_URL` when the file sets none); empty: the embedded PostgreSQL (PGlite) in `dataDir`. Never logged.'),
      dataDir: z.string().default('./.claimgate/data').describe('PGlite data directory, created if missing; only one process may open it.'),
      migrate: b(z.boolean().default(true)).describe('`start` applies pending migrations; `false` if you run `claimgate migrate` yourself.'),
      poolMax: n(z.number().int().positive().default(10)).describe('Connections per process (each process also holds one listener connection).'),
      connectionTimeoutMs: n(z.number().int().positive().default(5000))
        .describe('Connect and pool-acquire timeout; past it a request fails fast with `503 database_unavailable` instead of hanging.'),
      statementTimeoutMs: n(z.number().int().positive().default(15000)).describe('Server-side `statement_timeout` of every connection.'),
    })
    .prefault({})
    .describe('The database: PostgreSQL, or the embedded PGlite.'),
  session: z
    .strictObject({
      secret: z.union([secret32, z.array(secret32).min(1)]).transform((s) => (Array.isArray(s) ? s : [s]))
        .describe('HMAC key of the session cookie, at least 32 bytes; a list rotates secrets (the first signs, all verify).'),
      cookieName: z.string().regex(/^[A-Za-z0-9_-]+$/).default('claimgate_session')
        .describe('Cookie name (letters, digits, `_`, `-`); this cookie is removed from requests sent to the app.'),
      sameSite: z.enum(['lax', 'strict', 'none']).default('lax')
        .describe('`none` for dashboards embedded in another site; it requires an https `publicUrl`.'),
      idleTimeoutSeconds: seconds(1800).describe('The session ends after this long without a request (at most the absolute timeout).'),
      absoluteTimeoutSeconds: seconds(28800).describe('The session ends this long after sign-in, whatever happens.'),
    })
    .describe('The browser session started at sign-in.'),
  returnTo: z.strictObject({
    allowedOrigins: z.array(url).default([])
      .describe('Origins (no path) accepted as absolute `return_to` targets besides `publicUrl`\'s own; anything else falls back to `/`, so a link cannot redirect to a foreign site.'),
  }).prefault({}).describe('Where a sign-in may send the browser afterwards.'),
  upstream: z.strictObject({
    url: url.describe('The analytics app; a path in it prefixes every forwarded path, and it is the assertion\'s `aud`, exactly as written.'),
    mode: z.enum(['proxy', 'forward-auth', 'redirect']).default('proxy')
      .describe('`proxy` streams requests to the app; `forward-auth` answers nginx/Traefik at `/claimgate/auth`; `redirect` sends the browser to the app\'s SSO URL.'),
    timeoutSeconds: seconds(60).describe('Wait this long for the app\'s response headers and between body chunks, then answer `504`.'),
    redirect: z
      .strictObject({
        url: url.describe('The app\'s SSO URL; the token is added as a query parameter.'),
        claims: ownRecord(z.string().min(1), z.string().min(1)).default(() => dict<string>([['usercode', 'usercode'], ['roles', 'roles']]))
          .describe('Output claim -> JMESPath expression over the signed-in user; `iss`, `aud`, `exp`, `iat`, `nbf` and `jti` cannot be templated.'),
        alg: z.enum(['HS256', 'HS384', 'HS512', 'RS256', 'ES256']).default('HS256').describe('Signing algorithm of the token.'),
        sharedSecret: secret.optional().describe('For HS* algorithms: the shared secret, at least 32 bytes.'),
        privateKey: jwk.optional().describe('For RS256/ES256: a private JWK; its public key is published at `/claimgate/redirect/jwks.json`.'),
        param: z.string().min(1).default('jwt').describe('Query parameter that carries the token.'),
        ttlSeconds: n(z.number().int().positive().max(600).default(60))
          .describe('Token lifetime; short, because the token travels in a URL.'),
      })
      .optional()
      .describe('Required with `mode: redirect`: the app\'s SSO URL and how the short-lived JWT sent there is made.'),
  }).describe('The app behind the gateway.'),
  forwarding: z
    .strictObject({
      headerNames: z
        .strictObject({
          user: headerName.default('X-Claimgate-User').describe('Header carrying the usercode.'),
          userId: headerName.default('X-Claimgate-User-Id').describe('Header carrying the user id (ULID).'),
          email: headerName.default('X-Claimgate-Email').describe('Header carrying the e-mail (omitted when empty).'),
          name: headerName.default('X-Claimgate-Name').describe('Header carrying the display name, percent-encoded UTF-8 (omitted when empty).'),
          roles: headerName.default('X-Claimgate-Roles').describe('Header carrying the roles, comma-separated, each percent-encoded.'),
          permissions: headerName.default('X-Claimgate-Permissions').describe('Header carrying the permissions, same format as the roles.'),
          assertion: headerName.default('X-Claimgate-Assertion').describe('Header carrying the signed assertion.'),
        })
        .prefault({})
        .describe('Names of the identity headers; any client-sent spelling of them is stripped, like every `X-Claimgate-*` header.'),
      forwardedHeaders: b(z.boolean().default(true))
        .describe('Send `X-Forwarded-For`, `-Proto` and `-Host` to the app; `false` removes them and every other forwarding header.'),
      stripRequestHeaders: z.array(headerName).default([...DEFAULT_STRIPPED_REQUEST_HEADERS])
        .describe('Client request headers never forwarded to the app (method and URL override headers by default, which would let a request the rules allowed act as another); setting it replaces the list.'),
    })
    .prefault({})
    .describe('How the identity reaches the app.'),
  issuers: z.array(issuerSchema).default([]).describe('Trusted token issuers.'),
  mappings: ownRecord(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), mappingSchema).default(() => dict<never>())
    .describe('Named claim mappings (names: 1-64 letters, digits, `_`, `-`); the admin API can store newer versions.'),
  provisioning: z
    .strictObject({
      scim: z
        .strictObject({
          groupRoles: scimGroupRolesSchema.default(() => dict<never>())
            .describe('SCIM group (`displayName` or `externalId`, any case) -> role name or list, granted with the source `scim`.'),
          allowedRoles: z.array(z.string()).optional().describe('When set, the only roles SCIM grants; other mapped roles are left out.'),
          userRoles: scimUserRolesSchema.default([])
            .describe('Role rules (the forms of a mapping\'s `roles`) evaluated against the SCIM User resource as received (`roles[].value`, `entitlements[].value`, enterprise fields); roles granted with the source `scim`.'),
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
            .prefault({})
            .describe('Enterprise extension attribute -> profile field or `attributes.<name>` (null: ignored); `employeeNumber` fills `idpWorkforceId` by default.'),
          idpSource: z.string().min(1).max(64).optional().describe('Written to `idp_source` of SCIM users (e.g. `AAD`); unset leaves it alone.'),
        })
        .prefault({})
        .describe('SCIM 2.0 provisioning.'),
      api: z.strictObject({
        allowedRoles: z.array(z.string()).optional()
          .describe('When set, the sync API fails an item that asks for any other role (`role_not_allowed`).'),
      }).prefault({}).describe('The user sync API.'),
      events: z
        .strictObject({
          jwksUri: url.describe('The identity service\'s public key endpoint; the push token\'s key is looked up there by `kid`.'),
          appId: z.string().min(1).describe('The application id, expected as the push token\'s `aud`.'),
          decryptionKey: z.string().regex(/^([0-9a-fA-F]{32}|[0-9a-fA-F]{48}|[0-9a-fA-F]{64})$/, 'must be 32, 48 or 64 hex characters').optional()
            .describe('AES key of encrypted pushes: 32, 48 or 64 hex characters (A128GCM, A192GCM, A256GCM).'),
          issuer: z.string().default('urn:alibaba:idaas:app:event').describe('Expected `iss` of the push token.'),
          groupRoles: ownRecord(z.string(), z.union([z.string(), z.array(z.string())])).default(() => dict<never>())
            .describe('Organisational unit or group (name, external id or id, exact spelling) -> role name or list, granted with the source `events`.'),
          allowedRoles: z.array(z.string()).optional().describe('When set, the only roles events grant.'),
          clockToleranceSeconds: n(z.number().int().min(0).default(60)).describe('Allowed clock skew for the push token\'s `exp` and `iat`.'),
          allowedSources: z.array(z.string().min(1)).default([])
            .describe('Peers (CIDRs or addresses, after `trustedProxies`) pushes are accepted from, checked before anything else (`403`); empty: any.'),
          maxBodyBytes: n(z.number().int().positive().max(256 * 1024 * 1024).default(16 * 1024 * 1024)).describe('Largest push body accepted.'),
          idpSource: z.string().min(1).max(64).default('IDAAS').describe('Written to `idp_source` of event users; users written as `events` before stay recognised.'),
          fullSync: z
            .strictObject({
              suspendMissing: z.boolean().default(false)
                .describe('After a completed full push, suspend event users (and remove units) it did not mention; false: only record and preview (dry run).'),
              graceHours: n(z.number().min(0).max(24 * 365).default(24))
                .describe('Hours after a full push completed before what it did not mention is suspended or removed (by the deletion job).'),
            })
            .optional()
            .describe('Full push reconciliation: records which users and units each full push (`ud:user:push`, `ud:organizational_unit:push`) mentioned.'),
        })
        .optional()
        .describe('Turns on the change event receiver `POST /claimgate/events`; without it that path answers `404`.'),
      tokenTtlSeconds: n(z.number().int().positive().max(86400).default(900))
        .describe('Lifetime of `/claimgate/oauth/token` access tokens.'),
    })
    .prefault({})
    .describe('Channels that create and update users outside logins.'),
  egress: egressSchema.prefault({}).describe('Forward proxy for identity-side outbound calls (key sets, discovery, token and userinfo endpoints, Graph, the directory).'),
  jobs: z
    .strictObject({
      inactivity: inactivitySchema.optional(),
      deletion: z
        .strictObject({
          enabled: b(z.boolean().default(true))
            .describe('Schedule the nightly deletion job: users still `SUSPENDED` after the day of their suspension become `DEPROVISIONED` and lose their rights.'),
          at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM').default('02:00').describe('Local time (`HH:MM`) of the nightly run.'),
          timeZone: z.string().default('UTC').describe('IANA time zone of `at` and of the midnight that sets the deadline.'),
          dryRun: b(z.boolean().default(false))
            .describe('Scheduled runs only count who would be deprovisioned (`counts.wouldDeprovision`) and change nothing.'),
          graceDays: n(z.number().int().min(0).max(365).default(0))
            .describe('Extra whole days a suspended user keeps its rights after the day of its suspension.'),
        })
        .prefault({})
        .describe('The nightly deletion job.'),
      profile: z
        .strictObject({
          intervalSeconds: seconds(300).describe('Interval of the profile job.'),
          directory: z
            .strictObject({
              urlTemplate: z.string().min(1)
                .describe('One URL per user, e.g. `https://directory.example/users/{usercode}`; placeholders are percent-encoded.'),
              mapping: ownRecord(z.string(), z.string()).default(() => dict<never>())
                .describe('Profile field -> JMESPath expression over the directory\'s answer; empty: `email`, `displayName`, `firstName`, `lastName` by name.'),
              headers: ownRecord(z.string(), z.string()).default(() => dict<never>())
                .describe('Request headers, e.g. `Authorization: "Bearer ${DIRECTORY_TOKEN}"`; never logged, since they hold credentials.'),
              timeoutMs: n(z.number().int().positive().default(5000)).describe('Timeout of each directory call.'),
              concurrency: n(z.number().int().positive().max(64).default(4)).describe('Directory calls at a time.'),
            })
            .optional()
            .describe('The directory the profile job reads; without it the profile job does not run.'),
        })
        .prefault({})
        .describe('The profile job, which fills empty profile fields from a directory.'),
    })
    .prefault({})
    .describe('Lifecycle jobs.'),
  rateLimits: z
    .strictObject({
      sso: z.strictObject({ perMinute: n(z.number().int().positive().default(600)).describe('Requests to `/claimgate/sso` (GET and POST).') }).prefault({}),
      token: z.strictObject({ perMinute: n(z.number().int().positive().default(60)).describe('Requests to `/claimgate/oauth/token`.') }).prefault({}),
      events: z.strictObject({ perMinute: n(z.number().int().positive().default(600)).describe('Pushes to `/claimgate/events`.') }).prefault({}),
      adminAuth: z.strictObject({
        perMinute: n(z.number().int().positive().default(30))
          .describe('Failed API authentications, after which every API call of that address is refused for the rest of the minute, so credentials cannot be guessed.'),
      }).prefault({}),
    })
    .prefault({})
    .describe('Per client address and per process, in one-minute windows.'),
  limits: z
    .strictObject({
      bodyBytes: n(z.number().int().positive().default(1048576))
        .describe('Largest body the gateway\'s own endpoints accept (`413 body_too_large`); proxied bodies stream and are not limited.'),
      tokenBytes: n(z.number().int().positive().max(1048576).default(16384))
        .describe('Largest accepted JWT, in bytes; larger tokens are refused before any parsing.'),
      scimReadsPerCredential: n(z.number().int().positive().max(100).default(4))
        .describe('SCIM reads one credential may have in flight per process; beyond it 429 with Retry-After.'),
      headersTimeoutSeconds: seconds(30).describe('A request\'s headers must arrive within this many seconds of its first byte (every path), against slow-header attacks.'),
      requestTimeoutSeconds: n(z.number().int().min(0).default(0))
        .describe('A whole request must arrive within this (every path, proxied uploads included); 0: no limit.'),
      gatewayBodyTimeoutSeconds: seconds(30)
        .describe('The body of a request to a gateway endpoint (token, SCIM, sync, events...) must arrive within this (`408 request_timeout`), so a slow drip cannot hold a connection.'),
    })
    .prefault({})
    .describe('Size limits.'),
  logs: z
    .strictObject({
      level: z.enum(['error', 'warn', 'info', 'debug']).default('info')
        .describe('Log level of the JSON lines on stdout (errors on stderr); tokens, secrets and cookies are always redacted.'),
      requestRetentionDays: n(z.number().int().positive().default(30)).describe('Request-log rows older than this are deleted hourly.'),
      retentionDays: z
        .strictObject({
          request: n(z.number().int().positive()).optional().describe('Days request rows are kept (default: `requestRetentionDays`).'),
          payload: n(z.number().int().positive()).optional().describe('Days payload rows are kept (default: `requestRetentionDays`).'),
          exception: n(z.number().int().positive()).optional().describe('Days exception rows are kept (default: `requestRetentionDays`).'),
        })
        .prefault({})
        .describe('Retention per row kind of the request log.'),
      clientIp: z.enum(['full', 'truncated', 'none']).default('truncated')
        .describe('How much of the client address request rows keep: `truncated` is IPv4 /24 and IPv6 /48.'),
    })
    .prefault({})
    .describe('Logging.'),
  metrics: z
    .strictObject({
      listen: z.union([z.null(), z.string().min(1)]).default(null)
        .describe('`host:port` of an extra listener serving `/metrics` without authentication; bind it where only monitoring reaches.'),
    })
    .prefault({})
    .describe('Prometheus metrics.'),
  audit: z
    .strictObject({
      stream: z
        .union([
          z.null(),
          z.discriminatedUnion('type', [
            z.strictObject({
              type: z.literal('http'),
              /** Receives `POST { events: [...] }` (JSON); any 2xx acknowledges the batch. */
              url: z.string().url(),
              headers: z.record(z.string(), z.string()).default({}),
              timeoutMs: n(z.number().int().positive().default(5000)),
              batchSize: n(z.number().int().min(1).max(1000).default(100)),
              retryMaxSeconds: n(z.number().positive().default(30)),
              maxBacklog: n(z.number().int().positive().default(1_000_000)),
            }),
            z.strictObject({
              type: z.literal('syslog'),
              host: z.string().min(1),
              port: n(z.number().int().min(1).max(65535).default(514)),
              /** RFC 5424 messages; TCP uses octet-counting framing (RFC 6587). */
              protocol: z.enum(['udp', 'tcp']).default('udp'),
              facility: n(z.number().int().min(0).max(23).default(13)),
              appName: z.string().min(1).max(48).default('claimgate'),
              timeoutMs: n(z.number().int().positive().default(5000)),
              batchSize: n(z.number().int().min(1).max(1000).default(100)),
              retryMaxSeconds: n(z.number().positive().default(30)),
              maxBacklog: n(z.number().int().positive().default(1_000_000)),
            }),
            z.strictObject({
              type: z.literal('stdout'),
              batchSize: n(z.number().int().min(1).max(1000).default(100)),
              retryMaxSeconds: n(z.number().positive().default(30)),
              maxBacklog: n(z.number().int().positive().default(1_000_000)),
            }),
          ]),
        ])
        .default(null)
        .describe('Delivers every audit event as it is written to a SIEM (`http`, `syslog` or `stdout`): at least once, in order, from a database outbox, so a receiver outage never makes a sign-in wait.'),
    })
    .prefault({})
    .describe('The audit trail beyond the database.'),
  /**
   * OpenTelemetry traces, off unless an OTLP endpoint is set here or in OTEL_EXPORTER_OTLP_TRACES_ENDPOINT /
   * OTEL_EXPORTER_OTLP_ENDPOINT. Span attributes never carry tokens, secrets or personal data.
   */
  tracing: z
    .strictObject({
      otlp: z
        .strictObject({
          endpoint: z.string().url().optional().describe('OTLP/HTTP (JSON) traces URL; a base URL gets `/v1/traces` appended.'),
          headers: z.record(z.string(), z.string()).default({}).describe('Extra request headers for the collector, e.g. an API key.'),
        })
        .prefault({}),
      sampleRatio: n(z.number().min(0).max(1).default(1)).describe('Share of new traces recorded; a continued trace follows its caller\'s decision.'),
      serviceName: z.string().min(1).default('claimgate').describe('`service.name` of the exported spans (OTEL_SERVICE_NAME wins).'),
    })
    .prefault({})
    .describe('OpenTelemetry traces, off unless an OTLP endpoint is set here or in the OTEL_EXPORTER_OTLP_* variables; spans never carry tokens, secrets or personal data.'),
  console: z
    .strictObject({
      enabled: z.boolean().default(false).describe('Serve the web console at `<basePath>/console/`; off, sessions carry no admin rights at all.'),
      readRoles: z.array(z.string().min(1)).default([]).describe('A signed-in user holding one of these roles may use the console to look (`admin:read` through the session cookie).'),
      writeRoles: z.array(z.string().min(1)).default([]).describe('A signed-in user holding one of these roles may also change things (`admin:read` and `admin:write`).'),
    })
    .prefault({})
    .describe('The web console of the platform team: who may use it, by role.'),
  trustedProxies: z.array(z.string().min(1)).default([])
    .describe('IP addresses or CIDR ranges of the proxies in front; forwarding headers are believed only from them, so a client cannot choose its own address.'),
  routes: z.array(routeSchema).default([]).describe('Rules for the app\'s paths; the first match wins, and no match means any signed-in user.'),
  assertion: z
    .strictObject({
      keys: z.array(jwk).optional()
        .describe('Private ES256 JWKs for the assertion (the first signs, all are published); default: one generated at first start and shared through the database.'),
      ttlSeconds: n(z.number().int().min(5).max(60).default(60)).describe('Assertion lifetime; short, so a captured assertion is soon useless.'),
    })
    .prefault({})
    .describe('The signed assertion sent to the app.'),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type IssuerConfig = z.output<typeof issuerSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
