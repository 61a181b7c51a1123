import type { NextFunction, Request, Response } from 'express';

/** Express 5 forwards rejected promises itself; this keeps handler signatures uniform and typed. */
export function wrap(fn: (req: Request, res: Response) => Promise<void> | void) {
  return (req: Request, res: Response, next: NextFunction): void => {
    Promise.resolve()
      .then(() => fn(req, res))
      .catch(next);
  };
}
