import type { PresetName } from '../../core/config/idp-schema.js';

/**
 * Starter configurations printed by `claimgate init --preset P`. Every `<PLACEHOLDER>` must be replaced;
 * secrets stay `${VARIABLES}` read from the environment. Each one passes check-config once filled in.
 */

const COMMON_HEAD = `# Replace every value in angle brackets, set the environment variables named in \${...}, then run:
#   claimgate check-config --config claimgate.yaml
publicUrl: <PUBLIC_URL>                  # where users reach claimgate, e.g. https://bi.example.com
session:
  secret: \${SESSION_SECRET}              # at least 32 bytes: openssl rand -base64 48
upstream:
  url: <APP_URL>                         # the analytics app behind claimgate, e.g. http://127.0.0.1:9000
`;

const COMMON_TAIL = `routes:
  - { path: /admin/*, anyRole: [admin] }
`;

const ENTRA = `# claimgate starter for Microsoft Entra ID (preset: entra)
${COMMON_HEAD}issuers:
  - id: entra
    preset: entra                        # RS256, Microsoft's key set, tenant check, uti as the link id
    # Several tenants: keep {tenantid} and list them below. One tenant: you may write its id instead.
    # v1.0 tokens (accessTokenAcceptedVersion null or 1) use https://sts.windows.net/{tenantid}/ instead.
    issuer: https://login.microsoftonline.com/{tenantid}/v2.0
    audiences: [<CLIENT_ID>]             # Application (client) ID of the app registration
    entra:
      tenants: [<TENANT_ID>]             # Directory (tenant) ID
      # Reads the groups of users in too many groups to fit in a token ("group overage").
      # Needs an application permission GroupMember.Read.All with admin consent.
      graph:
        clientId: <CLIENT_ID>
        clientSecret: \${GRAPH_CLIENT_SECRET}
        groupField: id                   # id: group object ids (GUIDs); displayName: group names
    # Redirect login (OpenID Connect code flow); remove if tokens only arrive as bearer or sign-in links.
    # oidc: { clientId: <CLIENT_ID>, clientSecret: \${OIDC_CLIENT_SECRET} }  (needs a tenant issuer, not {tenantid})
    mapping: entra
mappings:
  entra:
    user:
      usercode: preferred_username       # the UPN; use oid for an identifier that survives renames
      displayName: name
    roles:
      # Token configuration > Add groups claim > Security groups: the claim holds object ids (GUIDs).
      - { from: groups, map: { <ADMIN_GROUP_ID>: admin, <ANALYST_GROUP_ID>: analyst } }
      # App roles defined in the app registration arrive in "roles".
      - { from: roles, map: { BI.Admin: admin, BI.Analyst: analyst } }
      - { default: [viewer] }
${COMMON_TAIL}`;

const OKTA = `# claimgate starter for Okta (preset: okta)
${COMMON_HEAD}issuers:
  - id: okta
    preset: okta                         # RS256, discovery; an absent groups claim means "no groups"
    # Custom authorization server (access tokens for your API): https://<OKTA_DOMAIN>/oauth2/default
    # Org authorization server (ID tokens only): https://<OKTA_DOMAIN>
    issuer: https://<OKTA_DOMAIN>/oauth2/default
    audiences: [<AUDIENCE>]              # the authorization server's audience, e.g. api://default
    mapping: okta
mappings:
  okta:
    user:
      usercode: preferred_username || sub
      email: email
      displayName: name
    roles:
      # Add a "groups" claim to the authorization server (filter e.g. "Starts with: bi-").
      - { from: groups, map: { bi-admins: admin, bi-analysts: analyst } }
      - { default: [viewer] }
${COMMON_TAIL}`;

const KEYCLOAK = `# claimgate starter for Keycloak (preset: keycloak)
${COMMON_HEAD}issuers:
  - id: keycloak
    preset: keycloak                     # RS256, discovery, azp accepted as the audience
    issuer: https://<KEYCLOAK_HOST>/realms/<REALM>
    audiences: [<CLIENT_ID>]             # access tokens carry aud "account" (or none) and the client in azp
    mapping: keycloak
mappings:
  keycloak:
    user:
      usercode: preferred_username
      email: email
      displayName: name
    roles:
      - { from: realm_access.roles, map: { bi-admin: admin, bi-analyst: analyst } }
      # A client id with a dash must be quoted inside the expression, and the expression quoted for YAML.
      - { from: 'resource_access."<CLIENT_ID>".roles', map: { admin: admin, analyst: analyst } }
      - { default: [viewer] }
${COMMON_TAIL}`;

const AUTH0 = `# claimgate starter for Auth0 (preset: auth0)
${COMMON_HEAD}issuers:
  - id: auth0
    preset: auth0                        # RS256, discovery
    issuer: https://<AUTH0_DOMAIN>/      # the trailing slash is part of Auth0's issuer
    audiences: [<API_IDENTIFIER>]        # the API identifier (access tokens) or the client id (ID tokens)
    mapping: auth0
mappings:
  auth0:
    user:
      usercode: sub                      # e.g. auth0|64f0..., google-oauth2|1098...
      email: '"https://<NAMESPACE>/email" || email'
    roles:
      # A post-login Action adds namespaced claims; URLs are quoted inside the expression.
      - { from: '"https://<NAMESPACE>/roles"', map: { bi-admin: admin, bi-analyst: analyst } }
      - { default: [viewer] }
    permissions:
      # RBAC with "Add Permissions in the Access Token" fills this claim.
      - { from: permissions, pattern: '^read:(.+)$', to: ['read_$1'] }
${COMMON_TAIL}`;

const GOOGLE = `# claimgate starter for Google (preset: google)
${COMMON_HEAD}issuers:
  - id: google
    preset: google                       # RS256, discovery, hosted-domain check
    issuer: https://accounts.google.com
    audiences: [<CLIENT_ID>]             # OAuth client id, ...apps.googleusercontent.com
    google:
      hostedDomains: [<DOMAIN>]          # only accounts of this Workspace domain (claim hd)
    mapping: google
mappings:
  google:
    require:
      - { expr: 'email_verified == \`true\`', message: Your Google address is not verified }
    user:
      usercode: email
      email: email
      displayName: name
    roles:
      # Google ID tokens carry no groups: grant by address, or provision roles through SCIM or the sync API.
      - { when: "email == '<ADMIN_EMAIL>'", add: [admin] }
      - { default: [viewer] }
${COMMON_TAIL}`;

export const STARTERS: Record<PresetName, string> = { entra: ENTRA, okta: OKTA, keycloak: KEYCLOAK, auth0: AUTH0, google: GOOGLE };
