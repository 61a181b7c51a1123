/**
 * Every error `code` the gateway answers with in its own problem format, with the HTTP status(es) it comes with and
 * what it means to the person reading it. docs/errors.md is generated from this table (`npm run docs`), and
 * test/docs/errors-table.test.ts fails when a code raised in src/ is missing here. The errors themselves are still
 * built where they happen; this table describes them and changes nothing at run time.
 */
export interface ErrorEntry {
  /** The statuses this code is answered with; several when the same code is raised in different places. */
  statuses: readonly number[];
  /** Where the code comes from, for grouping on the errors page. */
  area: 'sign-in' | 'token' | 'oidc' | 'session and app' | 'api' | 'admin api' | 'server';
  meaning: string;
}

export const ERROR_TABLE: Readonly<Record<string, ErrorEntry>> = Object.freeze({
  // Sign-in links and logins
  claim_invalid: { statuses: [400], area: 'sign-in', meaning: 'A claim that would reach the user record or a header holds a NUL, or an identifier claim (usercode, e-mail, `sub`…) holds another control character.' },
  token_missing: { statuses: [400], area: 'sign-in', meaning: 'A sign-in request carried no token.' },
  sso_link_disabled: { statuses: [403], area: 'sign-in', meaning: 'The issuer is trusted for bearer tokens only (`ssoLink.enabled` is false).' },
  login_denied: { statuses: [403], area: 'sign-in', meaning: 'The mapping refused the login: `match` or a `require` rule failed, or no usercode was found. The body names the `rule`.' },
  user_suspended: { statuses: [403], area: 'sign-in', meaning: 'The user\'s lifecycle is not `ACTIVE`; a login never reactivates a user.' },
  user_not_provisioned: { statuses: [403], area: 'sign-in', meaning: 'The issuer has `createUsers: false` and no user has this usercode.' },
  identity_conflict: { statuses: [403], area: 'sign-in', meaning: 'The usercode belongs to a user bound to another (issuer, `sub`).' },
  mapping_missing: { statuses: [500], area: 'sign-in', meaning: 'The issuer names a mapping that is neither in the file nor stored through the admin API.' },
  concurrent_update: { statuses: [409], area: 'sign-in', meaning: 'A change of a user raced another one twice; try again.' },
  csrf_failed: { statuses: [403], area: 'sign-in', meaning: 'A state-changing request authenticated by the session cookie came from another origin or without the session\'s CSRF token (console changes, the "Continue as" confirmation); nothing changed.' },
  switch_expired: { statuses: [403], area: 'sign-in', meaning: 'The "Continue as" confirmation for switching users was older than 5 minutes; open the sign-in link again.' },
  local_admin_refused: { statuses: [400, 403, 404, 409, 500], area: 'admin api', meaning: 'A `claimgate` command sent to a running gateway through its local admin socket was refused; the CLI prints the gateway\'s reason.' },
  request_timeout: { statuses: [408], area: 'api', meaning: 'The body of a request to a gateway endpoint did not arrive within `limits.gatewayBodyTimeoutSeconds`; the connection is closed.' },
  csrf_rejected: { statuses: [403], area: 'sign-in', meaning: 'A state-changing browser form (such as logout) came from another site.' },
  login_required: { statuses: [302], area: 'sign-in', meaning: 'Not an error page: a browser without a session is redirected to `/claimgate/login`.' },
  // Tokens refused by the trust map
  token_malformed: { statuses: [401], area: 'token', meaning: 'Not a usable JWS: a JWE, no `exp`/`sub`/`iss` (links also need `iat`), key-carrying or `crit` headers, too large, or several `jwt` parameters. `detail` says which.' },
  token_expired: { statuses: [401], area: 'token', meaning: '`exp` has passed, beyond the clock tolerance.' },
  token_not_yet_valid: { statuses: [401], area: 'token', meaning: '`nbf` or `iat` lies in the future beyond the clock tolerance.' },
  token_too_old: { statuses: [401], area: 'token', meaning: '`iat` is older than `ssoLink.maxTokenAgeSeconds` or `maxTokenAgeSeconds`.' },
  issuer_unknown: { statuses: [400, 401, 404], area: 'token', meaning: 'The token\'s `iss` is no configured issuer (401); a preview names an unknown issuer (400); the login page was asked for an issuer without `oidc` (404).' },
  audience_mismatch: { statuses: [401], area: 'token', meaning: '`aud` contains none of the issuer\'s `audiences`.' },
  signature_invalid: { statuses: [401], area: 'token', meaning: 'The signature matches no key of the issuer.' },
  algorithm_not_allowed: { statuses: [401], area: 'token', meaning: '`alg` is not in the issuer\'s `algorithms` (or is `none`).' },
  jti_missing: { statuses: [401], area: 'token', meaning: 'A sign-in link has no `jti`.' },
  tenant_not_allowed: { statuses: [401], area: 'token', meaning: 'An Entra ID token from a tenant (`tid`) not listed in `entra.tenants`, or whose `iss` is not the issuer template with that tenant.' },
  hosted_domain_not_allowed: { statuses: [401], area: 'token', meaning: 'A Google account outside the Workspace domains (`hd`) listed in `google.hostedDomains`.' },
  groups_unavailable: { statuses: [503], area: 'sign-in', meaning: 'The token says its groups were left out (Entra ID group overage) and they could not be read from Microsoft Graph; nothing was written. The message names the setting to fix.' },
  jti_replayed: { statuses: [401], area: 'token', meaning: 'The sign-in link was used before; links are single-use. A token used as a link is also refused as a bearer token from then on.' },
  id_token_not_accepted: { statuses: [401], area: 'token', meaning: 'An ID token of the issuer\'s own OIDC client (it carries a `nonce`, or the gateway received it at sign-in) was sent as a bearer token or sign-in link; ID tokens are not access tokens.' },
  jwks_unavailable: { statuses: [503], area: 'token', meaning: 'The issuer\'s keys (or discovery document) cannot be fetched.' },
  user_unknown: { statuses: [401, 403], area: 'token', meaning: 'The user of a token or session no longer exists (401), or cannot be handed to the app in redirect mode (403).' },
  issuer_config_invalid: { statuses: [500], area: 'token', meaning: 'An issuer\'s configuration cannot be used by the trust map; the log says why.' },
  // Redirect login (OpenID Connect)
  oidc_state_missing: { statuses: [400], area: 'oidc', meaning: 'The callback has no `state`.' },
  oidc_state_mismatch: { statuses: [400], area: 'oidc', meaning: 'No valid sign-in transaction for this state in this browser (another browser, expired, forged).' },
  oidc_response_mode_mismatch: { statuses: [400], area: 'oidc', meaning: 'A `GET` callback for a `form_post` issuer, or the other way round.' },
  oidc_iss_mismatch: { statuses: [400], area: 'oidc', meaning: 'The provider\'s `iss` response parameter does not match its metadata.' },
  oidc_iss_missing: { statuses: [400], area: 'oidc', meaning: 'The `iss` response parameter is missing although the provider advertises it.' },
  oidc_code_missing: { statuses: [400], area: 'oidc', meaning: 'The callback has no authorization code.' },
  oidc_code_invalid: { statuses: [400], area: 'oidc', meaning: 'The provider refused the code (`invalid_grant`: used twice or expired).' },
  oidc_response_invalid: { statuses: [400, 401], area: 'oidc', meaning: 'A repeated response parameter (400), or no ID token or another invalid answer from the provider (401).' },
  oidc_access_denied: { statuses: [403], area: 'oidc', meaning: 'The user declined at the provider.' },
  oidc_provider_error: { statuses: [401], area: 'oidc', meaning: 'The provider answered with another OAuth error (its code is in `error`).' },
  oidc_nonce_mismatch: { statuses: [401], area: 'oidc', meaning: 'The ID token was not made for this sign-in.' },
  oidc_userinfo_mismatch: { statuses: [401], area: 'oidc', meaning: 'The userinfo answer is about another `sub`.' },
  oidc_client_rejected: { statuses: [502], area: 'oidc', meaning: 'The provider refused the gateway\'s client credentials.' },
  oidc_token_error: { statuses: [502], area: 'oidc', meaning: 'The provider refused the code exchange for another reason.' },
  oidc_provider_unavailable: { statuses: [502], area: 'oidc', meaning: 'The provider\'s discovery, token or userinfo endpoint is down.' },
  oidc_provider_timeout: { statuses: [504], area: 'oidc', meaning: 'The provider is slower than the issuer\'s `jwks.timeoutMs`.' },
  logout_token_invalid: { statuses: [400], area: 'oidc', meaning: 'A back-channel logout token was refused; the log names the reason.' },
  // Sessions and requests to the app
  unauthenticated: { statuses: [401], area: 'session and app', meaning: 'No credential: no session cookie, no bearer token.' },
  route_forbidden: { statuses: [403], area: 'session and app', meaning: 'A `routes` rule requires roles or permissions the user lacks.' },
  path_invalid: { statuses: [400, 403], area: 'session and app', meaning: 'The path has an encoded `/` or `\\`, a disguised `..`, a segment ending in a dot or white space, a look-alike of `/` (full-width, division slash...), control characters or bad encoding; refused on purpose, so no app reads another path than the one the rules checked (403 in forward-auth, which nginx accepts as an answer).' },
  upstream_unavailable: { statuses: [502], area: 'session and app', meaning: 'The app cannot be reached.' },
  upstream_timeout: { statuses: [504], area: 'session and app', meaning: 'The app is slower than `upstream.timeoutSeconds`.' },
  upgrade_not_supported: { statuses: [400], area: 'session and app', meaning: 'An `Upgrade` to anything but `websocket` (`h2c` included); only WebSocket tunnels are passed to the app.' },
  upgrade_invalid: { statuses: [400], area: 'session and app', meaning: 'A WebSocket handshake that is not a `GET` without a body with a well-formed `Sec-WebSocket-Key`.' },
  client_closed: { statuses: [499], area: 'session and app', meaning: 'The client went away before the app answered; only logged, nobody receives it.' },
  not_found: { statuses: [404], area: 'session and app', meaning: 'No such gateway route (also every app path in `forward-auth` and `redirect` modes).' },
  // APIs (admin, SCIM, sync, metrics, token endpoint)
  invalid_token: { statuses: [401], area: 'api', meaning: 'The API credential is unknown, revoked or expired, or the header is not `Bearer <token>`.' },
  insufficient_scope: { statuses: [403], area: 'api', meaning: 'The credential lacks the scope the call needs; `WWW-Authenticate` names it.' },
  invalid_scope: { statuses: [400], area: 'admin api', meaning: 'A credential was created without any scope.' },
  rate_limited: { statuses: [429], area: 'api', meaning: 'Too many requests from one client address within a minute; wait for `Retry-After`.' },
  too_many_users: { statuses: [413], area: 'api', meaning: 'A sync API call carried more than 1,000 users.' },
  // Admin API
  invalid_request: { statuses: [400], area: 'admin api', meaning: 'The request failed validation; `problems: [{ path, message }]` lists every problem. Also: a request that carries a token in more than one way (header, query, body).' },
  mapping_invalid: { statuses: [400], area: 'admin api', meaning: 'A mapping cannot be used; every problem is listed with its path.' },
  text_invalid: { statuses: [400], area: 'admin api', meaning: 'A text value holds a NUL or, in an identifier, another control character; or the database refused a value as malformed.' },
  scim_busy: { statuses: [429], area: 'api', meaning: 'Too many SCIM reads in flight for this credential or for the instance; retry after `Retry-After`.' },
  cursor_invalid: { statuses: [400], area: 'admin api', meaning: 'The `cursor` of a list call is not one the gateway issued.' },
  invalid_name: { statuses: [400], area: 'admin api', meaning: 'A credential name is not 1-64 letters, digits, `.`, `_` or `-` starting with a letter or digit.' },
  user_not_found: { statuses: [404], area: 'admin api', meaning: 'No user with this id or usercode.' },
  mapping_not_found: { statuses: [404], area: 'admin api', meaning: 'No mapping with this name.' },
  mapping_not_stored: { statuses: [404], area: 'admin api', meaning: 'No stored version of this mapping is in force, so there is nothing to reset.' },
  version_not_found: { statuses: [404], area: 'admin api', meaning: 'No such version of the mapping (or of the SCIM role rules).' },
  scim_roles_invalid: { statuses: [400], area: 'admin api', meaning: 'SCIM role rules (`groupRoles`, `userRoles`) cannot be used; every problem is listed with its path.' },
  scim_roles_not_stored: { statuses: [404], area: 'admin api', meaning: "No stored version of the SCIM role rules is in force: the configuration file's rules already apply." },
  session_not_found: { statuses: [404], area: 'admin api', meaning: 'The user has no live session with this `ref` (it ended, or belongs to someone else).' },
  credential_not_found: { statuses: [404], area: 'admin api', meaning: 'No API credential with this name or id.' },
  job_not_found: { statuses: [404], area: 'admin api', meaning: 'No job with this name.' },
  credential_exists: { statuses: [409], area: 'admin api', meaning: 'A live credential already has this name.' },
  mapping_in_use: { statuses: [409], area: 'admin api', meaning: 'An issuer uses this name and the file does not define it, so the stored mapping cannot be removed.' },
  job_running: { statuses: [409], area: 'admin api', meaning: 'A run of this job is in progress on some instance.' },
  usercode_taken: { statuses: [409], area: 'admin api', meaning: 'A user with this usercode already exists (compared case-insensitively).' },
  unsupported_media_type: { statuses: [415], area: 'admin api', meaning: 'The body has a content type the call does not accept.' },
  // Any endpoint
  body_malformed: { statuses: [400], area: 'server', meaning: 'The request body could not be parsed.' },
  bad_request: { statuses: [400], area: 'server', meaning: 'The request could not be understood (any other 4xx from body parsing keeps its own status).' },
  body_too_large: { statuses: [413], area: 'server', meaning: 'The body is larger than `limits.bodyBytes`.' },
  database_unavailable: { statuses: [503], area: 'server', meaning: 'The database cannot be reached or timed out.' },
  internal_error: { statuses: [401, 500], area: 'server', meaning: 'An unexpected failure; the log has the details. `/claimgate/auth` answers it as 401, failing closed.' },
});

/** The entry of a code, or undefined for a code the table does not know. */
export function errorEntry(code: string): ErrorEntry | undefined {
  return Object.hasOwn(ERROR_TABLE, code) ? ERROR_TABLE[code] : undefined;
}
