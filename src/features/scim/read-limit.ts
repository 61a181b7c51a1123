import type { NextFunction, Request, Response } from 'express';
import { GatewayError } from '../../core/errors/errors.js';

/** Seconds a client is told to wait; Entra and Okta honour Retry-After on 429. */
export const READ_RETRY_AFTER_SECONDS = 2;

/**
 * At most `max` SCIM reads in flight per key (a credential, or all of them) in this process. A read that would exceed it is answered at once
 * with `429` and `Retry-After` rather than queued: a queue would keep the client's connections open and still
 * let one credential's heavy searches hold the database while sign-ins wait.
 */
export class ScimReadLimit {
  private readonly inFlight = new Map<string, number>();

  /** `what` says what `max` counts, for the answer: e.g. `for this credential`. */
  constructor(
    private readonly max: number,
    private readonly what: string,
  ) {}

  /** Express middleware; `keyOf` names the caller (its credential), null lets the request through uncounted. */
  middleware(keyOf: (req: Request) => string | null) {
    return (req: Request, res: Response, next: NextFunction): void => {
      const key = keyOf(req);
      if (key === null) return next();
      const n = this.inFlight.get(key) ?? 0;
      if (n >= this.max) {
        return next(
          new GatewayError('scim_busy', `Too many SCIM reads in flight (at most ${this.max} ${this.what}); retry after ${READ_RETRY_AFTER_SECONDS} s.`, {
            extra: { retryAfter: READ_RETRY_AFTER_SECONDS },
          }),
        );
      }
      this.inFlight.set(key, n + 1);
      let released = false;
      res.once('close', () => {
        if (released) return;
        released = true;
        const left = (this.inFlight.get(key) ?? 1) - 1;
        if (left > 0) this.inFlight.set(key, left);
        else this.inFlight.delete(key);
      });
      next();
    };
  }
}
