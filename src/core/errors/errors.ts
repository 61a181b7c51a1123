import { ERROR_TABLE, type ErrorCode } from './table.js';

export type { ErrorCode } from './table.js';

export interface GatewayErrorOptions {
  /** The internal cause: kept for the server log, never sent. */
  cause?: unknown;
  /** Extra public fields for the problem document (never secrets). */
  extra?: Record<string, unknown>;
  /**
   * Answer with this HTTP status instead of the table's: only for the few codes the table lists with
   * `alsoStatuses`, and only outside src/core (rules never speak HTTP; test/docs/errors-table.test.ts checks it).
   */
  status?: number;
}

/**
 * One error base for the whole gateway: a `code` from the error table (src/core/errors/table.ts; the codes are
 * stable and public) and a `publicMessage` that is safe to show. Everything else about the answer (status, title,
 * challenge, log level) comes from the table when the error is rendered. The internal `cause` is kept apart and only
 * ever reaches the server log (never a response).
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly publicMessage: string;
  /** Extra public fields for the problem document (never secrets). */
  readonly extra?: Record<string, unknown>;
  private readonly statusOverride?: number;

  constructor(code: ErrorCode, publicMessage: string, options: GatewayErrorOptions = {}) {
    super(publicMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.publicMessage = publicMessage;
    this.extra = options.extra;
    this.statusOverride = options.status;
  }

  /** The HTTP status it is answered with: the table's for its code, unless the web layer said otherwise. */
  get status(): number {
    return this.statusOverride ?? ERROR_TABLE[this.code].status;
  }
}

/** A token was refused (the trust map's codes; 401 for most of them). */
export class TokenError extends GatewayError {
  constructor(code: ErrorCode, publicMessage: string, options: { cause?: unknown } = {}) {
    super(code, publicMessage, { cause: options.cause });
    this.name = 'TokenError';
  }
}

/** The gateway cannot reach a dependency it needs (database, key endpoint). */
export class UnavailableError extends GatewayError {
  constructor(code: ErrorCode, publicMessage: string, cause?: unknown) {
    super(code, publicMessage, { cause });
    this.name = 'UnavailableError';
  }
}

export function isGatewayError(e: unknown): e is GatewayError {
  return e instanceof GatewayError;
}
