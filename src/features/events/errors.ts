/**
 * A refused push, answered in the format's own error body (docs/errors.md#endpoints-with-their-own-error-format):
 * `{ "error": "bad_request" | "internal_error", "errorDescription": "…" }`. Authentication failures (signature,
 * issuer, audience, expiry) and decryption failures answer 400 `bad_request`, as the format has it; the sender only
 * distinguishes success from failure, and 500 makes it retry (what we want when a dependency is down). A peer
 * outside `allowedSources` gets 403 before anything of its push is read.
 * The description is public: it never holds token material or event data.
 */
export class EventPushError extends Error {
  constructor(
    readonly status: 400 | 403 | 429 | 500,
    readonly error: 'bad_request' | 'forbidden' | 'too_many_requests' | 'internal_error',
    readonly description: string,
    options: { cause?: unknown } = {},
  ) {
    super(description, options);
    this.name = 'EventPushError';
  }
}

export const badRequest = (d: string, cause?: unknown) => new EventPushError(400, 'bad_request', d, { cause });
export const unauthenticated = (d: string, cause?: unknown) => new EventPushError(400, 'bad_request', d, { cause });
export const internal = (d: string, cause?: unknown) => new EventPushError(500, 'internal_error', d, { cause });

/** An event whose data cannot be applied (missing ids, a usercode owned by someone else): listed in failedEvents. */
export class EventDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventDataError';
  }
}
