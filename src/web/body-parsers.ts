import express, { type RequestHandler } from 'express';

/** The body parsers of the gateway's own forms and JSON calls, each bounded by `limits.bodyBytes`. */
export function bodyParsers(limitBytes: number): { form: RequestHandler; json: RequestHandler } {
  return {
    form: express.urlencoded({ extended: false, limit: limitBytes, parameterLimit: 100 }),
    json: express.json({ limit: limitBytes, type: ['application/json', 'application/*+json'] }),
  };
}
