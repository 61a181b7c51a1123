export { SCOPES, isScope, parseScopes, grants, type Scope } from './scopes.js';
export { CREDENTIAL_NAME, TOKEN_PREFIX, type Credential, type CredentialLookup, type NewCredential } from './credential.js';
export { AccessTokens, ACCESS_TOKEN_TYP, type AccessTokenClaims } from './access-tokens.js';
export { ApiAuthenticator, type ApiPrincipal, type FailureLimits } from './api-auth.js';
