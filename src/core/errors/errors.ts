/**
 * One error base for the whole gateway. `code` is stable and public (clients and tests rely on it),
 * `status` is the HTTP status, `publicMessage` is safe to show; the internal `cause` is kept apart and
 * only ever reaches the server log (never a response).
 */
export class GatewayError extends Error {
  readonly code: string;
  readonly status: number;
  readonly publicMessage: string;
  /** Extra public fields for the problem document (never secrets). */
  readonly extra?: Record<string, unknown>;

  constructor(
    code: string,
    status: number,
    publicMessage: string,
    options: { cause?: unknown; extra?: Record<string, unknown> } = {},
  ) {
    super(publicMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = status;
    this.publicMessage = publicMessage;
    this.extra = options.extra;
  }
}

/** A token was refused (401 unless said otherwise). */
export class TokenError extends GatewayError {
  constructor(code: string, publicMessage: string, options: { cause?: unknown; status?: number } = {}) {
    super(code, options.status ?? 401, publicMessage, { cause: options.cause });
    this.name = 'TokenError';
  }
}

/** The gateway cannot reach a dependency it needs (database, key endpoint). */
export class UnavailableError extends GatewayError {
  constructor(code: string, publicMessage: string, cause?: unknown) {
    super(code, 503, publicMessage, { cause });
    this.name = 'UnavailableError';
  }
}

export function isGatewayError(e: unknown): e is GatewayError {
  return e instanceof GatewayError;
}
