import type { Request, Response, Router } from 'express';
import type { Config } from '../../core/config/schema.js';
import { grants, isScope, type AccessTokens, type Credential, type Scope } from '../../core/credentials/index.js';
import type { CredentialStore } from '../../store/credentials.js';
import { GatewayError, type ErrorCode } from '../../core/errors/errors.js';
import { errorAnswer } from '../../web/problem.js';
import type { Logger } from '../../observability/logger.js';
import type { Feature } from '../../web/feature.js';
import type { RateLimits } from '../../web/rate-limit.js';
import { bodyParsers } from '../../web/body-parsers.js';
import { wrap } from '../../web/wrap.js';

/** What the token endpoint uses. */
export interface ApiTokenDeps {
  config: Pick<Config, 'limits'>;
  rateLimits: Pick<RateLimits, 'retryAfter'>;
  credentials: { store: Pick<CredentialStore, 'authenticateClient' | 'touch'>; accessTokens: Pick<AccessTokens, 'mint' | 'ttlSeconds'> };
  logger: Logger;
}

/** `POST /oauth/token`. */
export function createApiToken(deps: ApiTokenDeps): Feature {
  return {
    routes(r: Router) {
      const { form, json } = bodyParsers(deps.config.limits.bodyBytes);
      r.post('/oauth/token', tokenRateLimit(deps), form, json, wrap(tokenHandler(deps)));
    },
  };
}

/**
 * An RFC 6749 (section 5.2) error answer: `{ error, error_description }` where `error` is the code, with the status
 * and `WWW-Authenticate` challenge of the error table (`invalid_client` is `401` with `Basic`, or `Bearer` when
 * the client sent its credentials as form fields).
 */
function sendOAuthError(res: Response, e: GatewayError): void {
  const { status, headers } = errorAnswer(e);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(status).json({ error: e.code, error_description: e.publicMessage });
}

type OAuthErrorCode = Extract<ErrorCode, 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope' | 'slow_down'>;

function oauthError(res: Response, code: OAuthErrorCode, description: string, extra?: Record<string, unknown>): void {
  sendOAuthError(res, new GatewayError(code, description, { extra }));
}

const FORM_CLIENT = { wwwAuthenticate: 'Bearer' };

/** Client credentials from HTTP Basic (RFC 6749 section 2.3.1: each part form-urlencoded) or from the form. */
function clientCredentials(req: Request): { id: string; secret: string; basic: boolean } | 'both' | null {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const header = req.headers.authorization;
  const inForm = typeof body.client_id === 'string' || typeof body.client_secret === 'string';
  if (typeof header === 'string' && /^Basic /i.test(header)) {
    if (inForm) return 'both';
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    try {
      const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
      return { id: dec(decoded.slice(0, colon)), secret: dec(decoded.slice(colon + 1)), basic: true };
    } catch {
      return null;
    }
  }
  if (typeof body.client_id === 'string' && typeof body.client_secret === 'string') {
    return { id: body.client_id, secret: body.client_secret, basic: false };
  }
  return null;
}

/** Counts a token request before its body is read, and refuses one over `rateLimits.token` in the RFC 6749 format. */
function tokenRateLimit(deps: Pick<ApiTokenDeps, 'rateLimits'>) {
  return (req: Request, res: Response, next: () => void): void => {
    const wait = deps.rateLimits.retryAfter('token', req);
    if (wait === 0) return next();
    // The body stays unread: the connection cannot be reused.
    if (!req.complete) res.setHeader('Connection', 'close');
    oauthError(res, 'slow_down', 'Too many token requests; try again later.', { retryAfter: wait });
  };
}

/**
 * `POST /claimgate/oauth/token`: the client-credentials grant for API subscribers (a GUID and a secret exchanged
 * for a JWT that expires after `provisioning.tokenTtlSeconds`, 15 minutes by default). Answers RFC 6749 bodies.
 */
function tokenHandler(deps: ApiTokenDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const client = clientCredentials(req);
    if (client === 'both') return oauthError(res, 'invalid_request', 'Authenticate the client once: HTTP Basic or form fields, not both.');
    if (body.grant_type === undefined) return oauthError(res, 'invalid_request', 'grant_type is required.');
    if (body.grant_type !== 'client_credentials') {
      return oauthError(res, 'unsupported_grant_type', 'Only grant_type=client_credentials is supported.');
    }
    if (!client) return oauthError(res, 'invalid_client', 'Client authentication failed.');
    const credential: Credential | null = await deps.credentials.store.authenticateClient(client.id, client.secret);
    if (!credential) {
      deps.logger.info('token request refused', { reason: 'invalid_client' });
      return oauthError(res, 'invalid_client', 'Client authentication failed.', client.basic ? undefined : FORM_CLIENT);
    }
    let scopes: Scope[] = credential.scopes;
    if (body.scope !== undefined) {
      if (typeof body.scope !== 'string') return oauthError(res, 'invalid_request', 'scope must be a string.');
      const asked = body.scope.split(' ').filter(Boolean);
      // A scope implied by a held one (admin:write implies admin:read) is a subset of what the client holds.
      const bad = asked.filter((s) => !isScope(s) || !grants(credential.scopes, s));
      if (bad.length > 0 || asked.length === 0) {
        return oauthError(res, 'invalid_scope', `Scopes not granted to this client: ${bad.join(' ') || '(none asked)'}.`);
      }
      scopes = [...new Set(asked)] as Scope[];
    }
    const accessToken = await deps.credentials.accessTokens.mint({ credentialId: credential.id, clientId: credential.clientId, scopes });
    void deps.credentials.store.touch(credential).catch(() => undefined);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
    res.json({ access_token: accessToken, token_type: 'Bearer', expires_in: deps.credentials.accessTokens.ttlSeconds, scope: scopes.join(' ') });
  };
}
