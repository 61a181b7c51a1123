export { SCOPES, isScope, parseScopes, grants, type Scope } from './scopes.js';
export { CredentialStore, CREDENTIAL_NAME, TOKEN_PREFIX, type Credential, type NewCredential } from './credential-store.js';
export { AccessTokens, ACCESS_TOKEN_TYP, type AccessTokenClaims } from './access-tokens.js';
export { ApiAuthenticator, type ApiPrincipal } from './api-auth.js';
