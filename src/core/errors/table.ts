/**
 * Every error `code` the gateway answers with, and what goes with it: the HTTP status, the title of the problem
 * document, the `WWW-Authenticate` challenge a 401 carries, the level a failure is logged at, and what the code means
 * to the person reading it. Errors are built with a code and a public message only (`new GatewayError(code, message)`);
 * the renderers (src/web/problem.ts and the endpoints with their own format) read the rest from here. docs/errors.md
 * is generated from this table (`npm run docs`); test/docs/errors-table.test.ts checks it against the source.
 */
export interface ErrorEntry {
  /** The HTTP status the code is answered with. */
  status: number;
  /**
   * Other statuses the same code is answered with in some places (an explicit `status` given where the error is
   * built, only ever outside src/core), listed so the documentation stays complete.
   */
  alsoStatuses?: readonly number[];
  /** The `title` of the problem document. */
  title: string;
  /** Where the code comes from, for grouping on the errors page. */
  area: 'sign-in' | 'token' | 'oidc' | 'session and app' | 'api' | 'token endpoint' | 'scim' | 'event receiver' | 'admin api' | 'server';
  /** The `WWW-Authenticate` challenge sent with the code when it is answered as 401. */
  wwwAuthenticate?: string;
  /** The level of the server log line when a request fails with this code. */
  log: 'info' | 'warn' | 'error';
  meaning: string;
}

export const ERROR_TABLE = Object.freeze({
  // Sign-in links and logins
  claim_invalid: { status: 400, title: 'Bad request', area: 'sign-in', log: 'info', meaning: 'A claim that would reach the user record or a header holds a NUL, or an identifier claim (usercode, e-mail, `sub`…) holds another control character.' },
  token_missing: { status: 400, title: 'Bad request', area: 'sign-in', log: 'info', meaning: 'A sign-in request carried no token.' },
  sso_link_disabled: { status: 403, title: 'Access denied', area: 'sign-in', log: 'info', meaning: 'The issuer is trusted for bearer tokens only (`ssoLink.enabled` is false).' },
  login_denied: { status: 403, title: 'Access denied', area: 'sign-in', log: 'info', meaning: 'The mapping refused the login: `match` or a `require` rule failed, or no usercode was found. The body names the `rule`.' },
  user_suspended: { status: 403, title: 'Access denied', area: 'sign-in', log: 'info', meaning: 'The user\'s lifecycle is not `ACTIVE`; a login never reactivates a user.' },
  user_not_provisioned: { status: 403, title: 'Access denied', area: 'sign-in', log: 'info', meaning: 'The issuer has `createUsers: false` and no user has this usercode.' },
  identity_conflict: { status: 403, title: 'Access denied', area: 'sign-in', log: 'info', meaning: 'The usercode belongs to a user bound to another (issuer, `sub`).' },
  mapping_missing: { status: 500, title: 'Internal error', area: 'sign-in', log: 'error', meaning: 'The issuer names a mapping that is neither in the file nor stored through the admin API.' },
  concurrent_update: { status: 409, title: 'Conflict', area: 'sign-in', log: 'info', meaning: 'A change of a user raced another one twice; try again.' },
  csrf_failed: { status: 403, title: 'Access denied', area: 'sign-in', log: 'info', meaning: 'A state-changing request authenticated by the session cookie came from another origin or without the session\'s CSRF token (console changes, the "Continue as" confirmation); nothing changed.' },
  switch_expired: { status: 403, title: 'Access denied', area: 'sign-in', log: 'info', meaning: 'The "Continue as" confirmation for switching users was older than 5 minutes; open the sign-in link again.' },
  local_admin_refused: { status: 500, alsoStatuses: [400, 403, 404, 409], title: 'Internal error', area: 'admin api', log: 'error', meaning: 'A `claimgate` command sent to a running gateway through its local admin socket was refused; the CLI prints the gateway\'s reason, and the error keeps the status the gateway answered with.' },
  request_timeout: { status: 408, title: 'Error', area: 'api', log: 'info', meaning: 'The body of a request to a gateway endpoint did not arrive within `limits.gatewayBodyTimeoutSeconds`; the connection is closed.' },
  csrf_rejected: { status: 403, title: 'Access denied', area: 'sign-in', log: 'info', meaning: 'A state-changing browser form (such as logout) came from another site.' },
  login_required: { status: 302, title: 'Error', area: 'sign-in', log: 'info', meaning: 'Not an error page: a browser without a session is redirected to `/claimgate/login`.' },
  // Tokens refused by the trust map
  token_malformed: { status: 401, title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'Not a usable JWS: a JWE, no `exp`/`sub`/`iss` (links also need `iat`), key-carrying or `crit` headers, too large, or several `jwt` parameters. `detail` says which.' },
  token_expired: { status: 401, title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: '`exp` has passed, beyond the clock tolerance.' },
  token_not_yet_valid: { status: 401, title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: '`nbf` or `iat` lies in the future beyond the clock tolerance.' },
  token_too_old: { status: 401, title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: '`iat` is older than `ssoLink.maxTokenAgeSeconds` or `maxTokenAgeSeconds`.' },
  issuer_unknown: { status: 401, alsoStatuses: [400, 404], title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'The token\'s `iss` is no configured issuer (401); a preview names an unknown issuer (400); the login page was asked for an issuer without `oidc` (404).' },
  audience_mismatch: { status: 401, title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: '`aud` contains none of the issuer\'s `audiences`.' },
  signature_invalid: { status: 401, title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'The signature matches no key of the issuer.' },
  algorithm_not_allowed: { status: 401, title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: '`alg` is not in the issuer\'s `algorithms` (or is `none`).' },
  jti_missing: { status: 401, title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'A sign-in link has no `jti`.' },
  tenant_not_allowed: { status: 401, title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'An Entra ID token from a tenant (`tid`) not listed in `entra.tenants`, or whose `iss` is not the issuer template with that tenant.' },
  hosted_domain_not_allowed: { status: 401, title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'A Google account outside the Workspace domains (`hd`) listed in `google.hostedDomains`.' },
  groups_unavailable: { status: 503, title: 'Service unavailable', area: 'sign-in', log: 'error', meaning: 'The token says its groups were left out (Entra ID group overage) and they could not be read from Microsoft Graph; nothing was written. The message names the setting to fix.' },
  jti_replayed: { status: 401, title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'The sign-in link was used before; links are single-use. A token used as a link is also refused as a bearer token from then on.' },
  id_token_not_accepted: { status: 401, title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'An ID token of the issuer\'s own OIDC client (it carries a `nonce`, or the gateway received it at sign-in) was sent as a bearer token or sign-in link; ID tokens are not access tokens.' },
  jwks_unavailable: { status: 503, title: 'Service unavailable', area: 'token', log: 'error', meaning: 'The issuer\'s keys (or discovery document) cannot be fetched.' },
  user_unknown: { status: 401, alsoStatuses: [403], title: 'Sign-in required', area: 'token', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'The user of a token or session no longer exists (401), or cannot be handed to the app in redirect mode (403).' },
  issuer_config_invalid: { status: 500, title: 'Internal error', area: 'token', log: 'error', meaning: 'An issuer\'s configuration cannot be used by the trust map; the log says why.' },
  // Redirect login (OpenID Connect)
  oidc_state_missing: { status: 400, title: 'Bad request', area: 'oidc', log: 'info', meaning: 'The callback has no `state`.' },
  oidc_state_mismatch: { status: 400, title: 'Bad request', area: 'oidc', log: 'info', meaning: 'No valid sign-in transaction for this state in this browser (another browser, expired, forged).' },
  oidc_response_mode_mismatch: { status: 400, title: 'Bad request', area: 'oidc', log: 'info', meaning: 'A `GET` callback for a `form_post` issuer, or the other way round.' },
  oidc_iss_mismatch: { status: 400, title: 'Bad request', area: 'oidc', log: 'info', meaning: 'The provider\'s `iss` response parameter does not match its metadata.' },
  oidc_iss_missing: { status: 400, title: 'Bad request', area: 'oidc', log: 'info', meaning: 'The `iss` response parameter is missing although the provider advertises it.' },
  oidc_code_missing: { status: 400, title: 'Bad request', area: 'oidc', log: 'info', meaning: 'The callback has no authorization code.' },
  oidc_code_invalid: { status: 400, title: 'Bad request', area: 'oidc', log: 'info', meaning: 'The provider refused the code (`invalid_grant`: used twice or expired).' },
  oidc_response_invalid: { status: 401, alsoStatuses: [400], title: 'Sign-in required', area: 'oidc', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'A repeated response parameter (400), or no ID token or another invalid answer from the provider (401).' },
  oidc_access_denied: { status: 403, title: 'Access denied', area: 'oidc', log: 'info', meaning: 'The user declined at the provider.' },
  oidc_provider_error: { status: 401, title: 'Sign-in required', area: 'oidc', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'The provider answered with another OAuth error (its code is in `error`).' },
  oidc_nonce_mismatch: { status: 401, title: 'Sign-in required', area: 'oidc', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'The ID token was not made for this sign-in.' },
  oidc_userinfo_mismatch: { status: 401, title: 'Sign-in required', area: 'oidc', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'The userinfo answer is about another `sub`.' },
  oidc_client_rejected: { status: 502, title: 'The application is not reachable', area: 'oidc', log: 'error', meaning: 'The provider refused the gateway\'s client credentials.' },
  oidc_token_error: { status: 502, title: 'The application is not reachable', area: 'oidc', log: 'error', meaning: 'The provider refused the code exchange for another reason.' },
  oidc_provider_unavailable: { status: 502, title: 'The application is not reachable', area: 'oidc', log: 'error', meaning: 'The provider\'s discovery, token or userinfo endpoint is down.' },
  oidc_provider_timeout: { status: 504, title: 'The application did not answer in time', area: 'oidc', log: 'error', meaning: 'The provider is slower than the issuer\'s `jwks.timeoutMs`.' },
  logout_token_invalid: { status: 400, title: 'Bad request', area: 'oidc', log: 'info', meaning: 'A back-channel logout token was refused; the log names the reason.' },
  // Sessions and requests to the app
  unauthenticated: { status: 401, title: 'Sign-in required', area: 'session and app', wwwAuthenticate: 'Bearer', log: 'info', meaning: 'No credential: no session cookie, no bearer token.' },
  route_forbidden: { status: 403, title: 'Access denied', area: 'session and app', log: 'info', meaning: 'A `routes` rule requires roles or permissions the user lacks.' },
  path_invalid: { status: 400, alsoStatuses: [403], title: 'Bad request', area: 'session and app', log: 'info', meaning: 'The path has an encoded `/` or `\\`, a disguised `..`, a segment ending in a dot or white space, a look-alike of `/` (full-width, division slash...), control characters or bad encoding; refused on purpose, so no app reads another path than the one the rules checked (403 in forward-auth, which nginx accepts as an answer).' },
  upstream_unavailable: { status: 502, title: 'The application is not reachable', area: 'session and app', log: 'error', meaning: 'The app cannot be reached.' },
  upstream_timeout: { status: 504, title: 'The application did not answer in time', area: 'session and app', log: 'error', meaning: 'The app is slower than `upstream.timeoutSeconds`.' },
  upgrade_not_supported: { status: 400, title: 'Bad request', area: 'session and app', log: 'info', meaning: 'An `Upgrade` to anything but `websocket` (`h2c` included); only WebSocket tunnels are passed to the app.' },
  upgrade_invalid: { status: 400, title: 'Bad request', area: 'session and app', log: 'info', meaning: 'A WebSocket handshake that is not a `GET` without a body with a well-formed `Sec-WebSocket-Key`.' },
  client_closed: { status: 499, title: 'Error', area: 'session and app', log: 'info', meaning: 'The client went away before the app answered; only logged, nobody receives it.' },
  not_found: { status: 404, title: 'Not found', area: 'session and app', log: 'info', meaning: 'No such gateway route (also every app path in `forward-auth` and `redirect` modes); in SCIM, no user or group with this id.' },
  // APIs (admin, SCIM, sync, metrics, token endpoint)
  invalid_token: { status: 401, title: 'Sign-in required', area: 'api', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'info', meaning: 'The API credential is unknown, revoked or expired, or the header is not `Bearer <token>`.' },
  insufficient_scope: { status: 403, title: 'Access denied', area: 'api', log: 'info', meaning: 'The credential lacks the scope the call needs; `WWW-Authenticate` names it.' },
  invalid_scope: { status: 400, title: 'Bad request', area: 'admin api', log: 'info', meaning: 'A credential was created without any scope; or the token endpoint was asked for scopes the client does not hold.' },
  rate_limited: { status: 429, title: 'Too many requests', area: 'api', log: 'info', meaning: 'Too many requests from one client address within a minute; wait for `Retry-After`.' },
  too_many_users: { status: 413, title: 'Payload too large', area: 'api', log: 'info', meaning: 'A sync API call carried more than 1,000 users.' },
  // The token endpoint (OAuth 2.0 error bodies; invalid_request and invalid_scope too)
  invalid_client: { status: 401, title: 'Sign-in required', area: 'token endpoint', wwwAuthenticate: 'Basic realm="claimgate", charset="UTF-8"', log: 'info', meaning: 'The token endpoint could not authenticate the client (unknown client id, wrong secret, revoked credential); the challenge is `Bearer` when the client sent its credentials as form fields.' },
  unsupported_grant_type: { status: 400, title: 'Bad request', area: 'token endpoint', log: 'info', meaning: 'The token endpoint was asked for another grant than `client_credentials`.' },
  slow_down: { status: 429, title: 'Too many requests', area: 'token endpoint', log: 'info', meaning: 'More token requests from one client address than `rateLimits.token.perMinute`; wait for `Retry-After`.' },
  // SCIM (the code is the scimType of the SCIM error body)
  invalidFilter: { status: 400, title: 'Bad request', area: 'scim', log: 'info', meaning: 'A SCIM `filter` cannot be parsed or names an attribute or operator the gateway does not filter on.' },
  invalidPath: { status: 400, title: 'Bad request', area: 'scim', log: 'info', meaning: 'A SCIM PATCH `path` cannot be parsed or names no attribute of the resource.' },
  invalidSyntax: { status: 400, title: 'Bad request', area: 'scim', log: 'info', meaning: 'A SCIM request body is not valid JSON or not a SCIM message of the expected kind.' },
  invalidValue: { status: 400, title: 'Bad request', area: 'scim', log: 'info', meaning: 'A SCIM value is missing, of the wrong type, or not acceptable (a NUL character included).' },
  mutability: { status: 400, title: 'Bad request', area: 'scim', log: 'info', meaning: 'A SCIM request tries to change a read-only attribute.' },
  noTarget: { status: 400, title: 'Bad request', area: 'scim', log: 'info', meaning: 'A SCIM PATCH operation has nothing to act on: a `remove` without a `path`, or a `path` that matches no value.' },
  uniqueness: { status: 409, title: 'Conflict', area: 'scim', log: 'info', meaning: 'A SCIM user with this `userName` already exists.' },
  // The change event receiver ({ error, errorDescription } bodies; bad_request and internal_error too)
  forbidden: { status: 403, title: 'Access denied', area: 'event receiver', log: 'info', meaning: 'A push to the change event receiver came from an address outside `allowedSources`; nothing of it was read.' },
  too_many_requests: { status: 429, title: 'Too many requests', area: 'event receiver', log: 'info', meaning: 'Too many pushes to the change event receiver; the sender retries later.' },
  // Admin API
  invalid_request: { status: 400, title: 'Bad request', area: 'admin api', log: 'info', meaning: 'The request failed validation; `problems: [{ path, message }]` lists every problem. Also: a request that carries a token in more than one way (header, query, body); and a token request without `grant_type`, with a non-string `scope` or with client credentials both in HTTP Basic and in the form.' },
  mapping_invalid: { status: 400, title: 'Bad request', area: 'admin api', log: 'info', meaning: 'A mapping cannot be used; every problem is listed with its path.' },
  text_invalid: { status: 400, title: 'Bad request', area: 'admin api', log: 'info', meaning: 'A text value holds a NUL or, in an identifier, another control character; or the database refused a value as malformed.' },
  scim_busy: { status: 429, title: 'Too many requests', area: 'api', log: 'info', meaning: 'Too many SCIM reads in flight for this credential or for the instance; retry after `Retry-After`.' },
  cursor_invalid: { status: 400, title: 'Bad request', area: 'admin api', log: 'info', meaning: 'The `cursor` of a list call is not one the gateway issued.' },
  invalid_name: { status: 400, title: 'Bad request', area: 'admin api', log: 'info', meaning: 'A credential name is not 1-64 letters, digits, `.`, `_` or `-` starting with a letter or digit.' },
  user_not_found: { status: 404, title: 'Not found', area: 'admin api', log: 'info', meaning: 'No user with this id or usercode.' },
  mapping_not_found: { status: 404, title: 'Not found', area: 'admin api', log: 'info', meaning: 'No mapping with this name.' },
  mapping_not_stored: { status: 404, title: 'Not found', area: 'admin api', log: 'info', meaning: 'No stored version of this mapping is in force, so there is nothing to reset.' },
  version_not_found: { status: 404, title: 'Not found', area: 'admin api', log: 'info', meaning: 'No such version of the mapping (or of the SCIM role rules).' },
  scim_roles_invalid: { status: 400, title: 'Bad request', area: 'admin api', log: 'info', meaning: 'SCIM role rules (`groupRoles`, `userRoles`) cannot be used; every problem is listed with its path.' },
  scim_roles_not_stored: { status: 404, title: 'Not found', area: 'admin api', log: 'info', meaning: "No stored version of the SCIM role rules is in force: the configuration file's rules already apply." },
  session_not_found: { status: 404, title: 'Not found', area: 'admin api', log: 'info', meaning: 'The user has no live session with this `ref` (it ended, or belongs to someone else).' },
  credential_not_found: { status: 404, title: 'Not found', area: 'admin api', log: 'info', meaning: 'No API credential with this name or id.' },
  job_not_found: { status: 404, title: 'Not found', area: 'admin api', log: 'info', meaning: 'No job with this name.' },
  credential_exists: { status: 409, title: 'Conflict', area: 'admin api', log: 'info', meaning: 'A live credential already has this name.' },
  mapping_in_use: { status: 409, title: 'Conflict', area: 'admin api', log: 'info', meaning: 'An issuer uses this name and the file does not define it, so the stored mapping cannot be removed.' },
  job_running: { status: 409, title: 'Conflict', area: 'admin api', log: 'info', meaning: 'A run of this job is in progress on some instance.' },
  usercode_taken: { status: 409, title: 'Conflict', area: 'admin api', log: 'info', meaning: 'A user with this usercode already exists (compared case-insensitively).' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', area: 'admin api', log: 'info', meaning: 'The body has a content type the call does not accept.' },
  // Any endpoint
  body_malformed: { status: 400, title: 'Bad request', area: 'server', log: 'info', meaning: 'The request body could not be parsed.' },
  bad_request: { status: 400, title: 'Bad request', area: 'server', log: 'info', meaning: 'The request could not be understood (any other 4xx from body parsing keeps its own status). The change event receiver answers every refused push with it: malformed, oversized, undecryptable, badly signed, foreign or expired.' },
  body_too_large: { status: 413, title: 'Payload too large', area: 'server', log: 'info', meaning: 'The body is larger than `limits.bodyBytes`.' },
  database_unavailable: { status: 503, title: 'Service unavailable', area: 'server', log: 'error', meaning: 'The database cannot be reached or timed out.' },
  internal_error: { status: 500, alsoStatuses: [401], title: 'Internal error', area: 'server', wwwAuthenticate: 'Bearer error="invalid_token"', log: 'error', meaning: 'An unexpected failure; the log has the details. `/claimgate/auth` answers it as 401, failing closed. The change event receiver answers it when a dependency failed (the sender retries).' },
} as const satisfies Record<string, ErrorEntry>);

/** Every error code the gateway knows; a code outside this union does not typecheck. */
export type ErrorCode = keyof typeof ERROR_TABLE;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_TABLE, code);
}

/** The entry of a code, or undefined for a code the table does not know. */
export function errorEntry(code: string): ErrorEntry | undefined {
  return isErrorCode(code) ? ERROR_TABLE[code] : undefined;
}

/** Every status a code is answered with: its own first, then the others. */
export function statusesOf(entry: ErrorEntry): number[] {
  return [entry.status, ...(entry.alsoStatuses ?? [])];
}
