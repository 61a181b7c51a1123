import * as oidc from 'openid-client';
import type { GatewayContext } from '../../app/gateway-context.js';
import type { IssuerConfig } from '../../core/config/schema.js';
import { GatewayError } from '../../core/errors/errors.js';
import type { Claims } from '../../core/mapping/types.js';
import type { LoginResult } from '../../core/login/login-service.js';
import type { SessionData } from '../../core/sessions/session.js';
import { authorizationError, grantFailure, providerFailure } from './errors.js';
import { oidcRuntime } from './runtime.js';
import type { Transaction } from './transaction-cookie.js';
import { mergeUserinfo } from './claims.js';
import { dict } from '../../core/own-keys.js';

/** Authorization request parameters the configuration's `extraParams` may not override. */
const PROTECTED_PARAMS = new Set([
  'client_id', 'redirect_uri', 'response_type', 'response_mode', 'scope', 'state', 'nonce', 'code_challenge',
  'code_challenge_method', 'request', 'request_uri',
]);

/** Where to send the browser to sign in at the provider, and the transaction cookies to set first. */
export interface OidcStart {
  location: string;
  setCookie: string[];
}

/**
 * Starts the authorization code flow: fresh `state`, `nonce` and PKCE verifier (S256), kept in the signed
 * transaction cookie; `returnTo` must already be validated.
 */
export async function startCodeFlow(ctx: GatewayContext, issuerId: string, returnTo: string, cookieHeader?: string): Promise<OidcStart> {
  const rt = oidcRuntime(ctx);
  const issuer = rt.clients.issuer(issuerId);
  const config = await rt.clients.get(issuerId);
  const o = issuer.oidc;
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.extraParams)) if (!PROTECTED_PARAMS.has(k)) params[k] = v;
  Object.assign(params, {
    redirect_uri: rt.redirectUri,
    response_type: 'code',
    scope: o.scopes.join(' '),
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  if (o.responseMode === 'form_post') params.response_mode = 'form_post';
  const location = oidc.buildAuthorizationUrl(config, params).href;
  const setCookie = rt.transactions.start({ issuerId, state, nonce, codeVerifier, returnTo, responseMode: o.responseMode }, cookieHeader);
  return { location, setCookie };
}

/** The callback as the HTTP layer saw it: its parameters (query or form body), method and Cookie header. */
export interface CallbackRequest {
  method: 'GET' | 'POST';
  params: Record<string, unknown>;
  cookieHeader: string | undefined;
}

export interface CallbackOutcome {
  /** Clears the transaction cookie; send it with every answer, success or refusal. */
  clearCookie?: string;
  /** Set on success. */
  login?: { result: LoginResult; session: SessionData; returnTo: string };
  /** Set on refusal (the caller renders it, with `clearCookie`). */
  error?: GatewayError;
}

/**
 * Completes the code flow. Order: the transaction (state bound to this browser), the response mode, the
 * provider's `error`, RFC 9207 `iss`, then openid-client's code exchange (PKCE verifier, state, nonce, ID token
 * claims), the ID token's signature through the trust map (the issuer's keys, algorithms, audiences and
 * age rules), optionally userinfo, and finally the same mapping and user sync as an SSO link. Nothing is written
 * before every check has passed.
 */
export async function completeCodeFlow(ctx: GatewayContext, req: CallbackRequest): Promise<CallbackOutcome> {
  const rt = oidcRuntime(ctx);
  const p = singleParams(req.params);
  if (p === null) return { error: new GatewayError('oidc_response_invalid', 400, 'The sign-in response repeats a parameter.') };
  const state = p.state;
  if (!state) {
    return { error: new GatewayError('oidc_state_missing', 400, 'The sign-in response has no state. Start the sign-in again.') };
  }
  const found = rt.transactions.find(req.cookieHeader, state);
  const tx = found?.tx ?? null;
  const clearCookie = found ? rt.transactions.clear(found.slot, found.tx.responseMode) : undefined;
  const fail = (error: GatewayError): CallbackOutcome => ({ clearCookie, error });
  if (!tx) {
    return fail(
      new GatewayError(
        'oidc_state_mismatch',
        400,
        'This sign-in response does not belong to this browser, or it took too long. Start the sign-in again.',
      ),
    );
  }
  try {
    const login = await exchange(ctx, tx, req.method, p);
    return { clearCookie, login };
  } catch (e) {
    if (e instanceof GatewayError) return fail(e);
    throw e;
  }
}

async function exchange(ctx: GatewayContext, tx: Transaction, method: 'GET' | 'POST', p: Record<string, string>) {
  const rt = oidcRuntime(ctx);
  const issuer = rt.clients.issuer(tx.issuerId);
  const expectedMethod = tx.responseMode === 'form_post' ? 'POST' : 'GET';
  if (method !== expectedMethod) {
    throw new GatewayError('oidc_response_mode_mismatch', 400, `This sign-in response must arrive as a ${expectedMethod}.`);
  }
  if (p.error !== undefined) throw authorizationError(p.error);
  const config = await rt.clients.get(tx.issuerId);
  const meta = config.serverMetadata();
  if (p.iss !== undefined && p.iss !== meta.issuer) {
    throw new GatewayError('oidc_iss_mismatch', 400, 'The sign-in response names another issuer (RFC 9207 iss).');
  }
  if (p.iss === undefined && meta.authorization_response_iss_parameter_supported === true) {
    throw new GatewayError('oidc_iss_missing', 400, 'The sign-in response lacks the issuer (RFC 9207 iss) its provider always sends.');
  }
  if (!p.code) throw new GatewayError('oidc_code_missing', 400, 'The sign-in response has no authorization code.');

  // The URL openid-client reads the response from: our registered redirect_uri plus the response parameters
  // (query or form body alike), never the Host the request happened to use.
  const current = new URL(rt.redirectUri);
  for (const [k, v] of Object.entries(p)) current.searchParams.set(k, v);
  const tokens = await oidc
    .authorizationCodeGrant(config, current, {
      pkceCodeVerifier: tx.codeVerifier,
      expectedState: tx.state,
      expectedNonce: tx.nonce,
      idTokenExpected: true,
    })
    .catch((e: unknown) => {
      throw grantFailure(e);
    });
  const idToken = tokens.id_token;
  if (!idToken) throw new GatewayError('oidc_response_invalid', 401, 'The sign-in provider returned no ID token.');
  const verified = await ctx.trustMap.verify(idToken, { purpose: 'oidc', issuerId: issuer.id });
  const idClaims = verified.claims as Claims;
  if (idClaims.nonce !== tx.nonce) throw new GatewayError('oidc_nonce_mismatch', 401, 'The ID token does not belong to this sign-in (nonce).');
  await ctx.login.recordIdToken(issuer, { claims: idClaims, tokenHash: verified.tokenHash });
  let claims: Claims = { ...idClaims };
  if (issuer.oidc.userinfo === 'merge') claims = mergeUserinfo(claims, await userinfo(config, tokens.access_token, idClaims.sub as string));
  const result = await ctx.login.loginWithClaims(issuer, claims, 'oidc');
  const session: SessionData = {};
  if (issuer.oidc.endSessionAtProvider && meta.end_session_endpoint) session.idTokenHint = idToken;
  if (typeof idClaims.sid === 'string') session.sid = idClaims.sid;
  if (issuer.oidc.refreshIntervalSeconds > 0 && tokens.refresh_token) {
    session.refreshToken = tokens.refresh_token;
    session.refreshedAt = ctx.now();
  }
  return { result, session, returnTo: tx.returnTo };
}

async function userinfo(config: oidc.Configuration, accessToken: string, sub: string): Promise<Record<string, unknown>> {
  try {
    return (await oidc.fetchUserInfo(config, accessToken, sub)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof oidc.ClientError && /"sub"/.test(String((e.cause as Error | undefined)?.message ?? e.message))) {
      throw new GatewayError('oidc_userinfo_mismatch', 401, 'The userinfo answer is about another user.', { cause: e });
    }
    throw providerFailure(e, 'userinfo');
  }
}

/** Every response parameter must appear at most once and be a string; `null` otherwise. */
function singleParams(params: Record<string, unknown>): Record<string, string> | null {
  const out = dict<string>();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (typeof v !== 'string') return null;
    out[k] = v;
  }
  return out;
}

/** For the login page: the issuers a user can choose. */
export function oidcIssuers(ctx: GatewayContext): IssuerConfig[] {
  return oidcRuntime(ctx).clients.oidcIssuers;
}
