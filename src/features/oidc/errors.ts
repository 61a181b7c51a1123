import * as oidc from 'openid-client';
import { GatewayError } from '../../core/errors/errors.js';

/**
 * openid-client's errors, turned into the gateway's stable codes. The provider's own words
 * (`error_description`) never reach the page: they may echo request values. Only a plain OAuth error code
 * (`invalid_grant`, `access_denied`...) is shown.
 */

const OAUTH_ERROR = /^[a-z_]{1,64}$/;

/** The provider could not be reached, answered too slowly, or answered garbage. */
export function providerFailure(err: unknown, stage: 'discovery' | 'token' | 'userinfo'): GatewayError {
  if (err instanceof GatewayError) return err;
  if (isTimeout(err) || (err as { code?: string } | undefined)?.code === 'OAUTH_TIMEOUT') {
    return new GatewayError('oidc_provider_timeout', 'The sign-in provider did not answer in time. Try again in a moment.', {
      cause: err,
      extra: { stage },
    });
  }
  return new GatewayError('oidc_provider_unavailable', 'The sign-in provider cannot be reached right now. Try again in a moment.', {
    cause: err,
    extra: { stage },
  });
}

function isTimeout(err: unknown): boolean {
  for (let e = err as { name?: string; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  }
  return false;
}

/** An error of the code exchange (authorizationCodeGrant), as a refusal or a provider failure. */
export function grantFailure(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof oidc.ResponseBodyError) {
    if (err.error === 'invalid_grant') {
      return new GatewayError('oidc_code_invalid', 'This sign-in response was already used or has expired. Sign in again.', { cause: err });
    }
    if (err.error === 'invalid_client' || err.error === 'unauthorized_client') {
      return new GatewayError('oidc_client_rejected', 'The sign-in provider refused this gateway\'s client credentials.', { cause: err });
    }
    return new GatewayError('oidc_token_error', 'The sign-in provider refused the code exchange.', {
      cause: err,
      extra: OAUTH_ERROR.test(err.error) ? { error: err.error } : undefined,
    });
  }
  if (err instanceof oidc.AuthorizationResponseError) return authorizationError(err.error);
  if (err instanceof oidc.ClientError) {
    // Timeouts, aborts and transport failures: the provider's fault, not a refusal of the user.
    if (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT' || err.code === undefined || isTimeout(err)) return providerFailure(err, 'token');
    const inner = err.cause as { message?: string; cause?: { claim?: string } } | undefined;
    const claim = inner?.cause?.claim;
    const message = inner?.message ?? err.message;
    if (claim === 'nonce') return new GatewayError('oidc_nonce_mismatch', 'The ID token does not belong to this sign-in (nonce).', { cause: err });
    if (claim === 'aud' || claim === 'azp') {
      return new GatewayError('audience_mismatch', 'The ID token was issued to another client.', { cause: err });
    }
    if (claim === 'iss' || /"iss"/.test(message)) return new GatewayError('oidc_iss_mismatch', 'The response comes from another issuer.', { cause: err });
    if (/"state"/.test(message)) return new GatewayError('oidc_state_mismatch', 'This sign-in response does not belong to this browser.', { cause: err });
    if (err.code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED') return new GatewayError('token_expired', 'The ID token has expired.', { cause: err });
    if (err.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || err.code === 'OAUTH_RESPONSE_IS_NOT_JSON' || err.code === 'OAUTH_PARSE_ERROR') {
      return providerFailure(err, 'token');
    }
    return new GatewayError('oidc_response_invalid', 'The sign-in provider\'s answer did not pass validation.', { cause: err });
  }
  return providerFailure(err, 'token');
}

/** `error=` in the authorization response (the user declined, the provider refused the request...). */
export function authorizationError(error: unknown): GatewayError {
  const code = typeof error === 'string' && OAUTH_ERROR.test(error) ? error : 'error';
  if (code === 'access_denied') {
    return new GatewayError('oidc_access_denied', 'Sign-in was cancelled or refused at the sign-in provider.', { extra: { error: code } });
  }
  return new GatewayError('oidc_provider_error', 'The sign-in provider answered with an error.', { extra: { error: code } });
}
