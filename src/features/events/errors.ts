import { GatewayError, type ErrorCode } from '../../core/errors/errors.js';
import { errorAnswer } from '../../web/problem.js';
import type { Response } from 'express';

/** The codes a refused push is answered with; the status of each is in the error table. */
export type EventPushCode = Extract<ErrorCode, 'bad_request' | 'forbidden' | 'too_many_requests' | 'internal_error'>;

/**
 * A refused push, answered in the format's own error body (docs/errors.md#endpoints-with-their-own-error-format):
 * `{ "error": "<code>", "errorDescription": "…" }`. Authentication failures (signature, issuer, audience, expiry) and
 * decryption failures answer 400 `bad_request`, as the format has it; the sender only distinguishes success from
 * failure, and 500 `internal_error` makes it retry (what we want when a dependency is down). A peer outside
 * `allowedSources` gets 403 `forbidden` before anything of its push is read.
 * The description is public: it never holds token material or event data.
 */
export class EventPushError extends GatewayError {
  declare readonly code: EventPushCode;
  constructor(code: EventPushCode, description: string, options: { cause?: unknown; extra?: Record<string, unknown> } = {}) {
    super(code, description, options);
    this.name = 'EventPushError';
  }

  get description(): string {
    return this.publicMessage;
  }
}

export const badRequest = (d: string, cause?: unknown) => new EventPushError('bad_request', d, { cause });
export const unauthenticated = (d: string, cause?: unknown) => new EventPushError('bad_request', d, { cause });
export const internal = (d: string, cause?: unknown) => new EventPushError('internal_error', d, { cause });

/** A refused push in the receiver's format: the table's status and `Retry-After`, `{ error, errorDescription }`. */
export function sendPushError(res: Response, e: EventPushError): void {
  const { status, headers } = errorAnswer(e);
  res.status(status).set({ 'Cache-Control': 'no-store', ...headers }).json({ error: e.code, errorDescription: e.description });
}

/**
 * An event whose data cannot be applied (missing ids, a usercode owned by someone else): not an answer to the push
 * but one event's outcome, listed in failedEvents of a successful answer.
 */
export class EventDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventDataError';
  }
}
