import type { Response } from 'express';
import { GatewayError } from '../../core/errors/errors.js';
import { toGatewayError } from '../../web/problem.js';
import { ERROR_SCHEMA } from './schema.js';

/** RFC 7644 (section 3.12) `scimType` values. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

/** A SCIM error: rendered as an RFC 7644 (section 3.12) body. `code` is the scimType (or a status word) for logs. */
export class ScimError extends GatewayError {
  readonly scimType?: ScimType;
  constructor(status: number, detail: string, scimType?: ScimType) {
    super(scimType ?? `scim_${status}`, status, detail);
    this.name = 'ScimError';
    this.scimType = scimType;
  }
}

export const badRequest = (scimType: ScimType, detail: string) => new ScimError(400, detail, scimType);
export const notFound = (what: string) => new ScimError(404, `${what} not found`);

export const SCIM_CONTENT_TYPE = 'application/scim+json';

/** Sends a SCIM resource or message with the SCIM media type. */
export function sendScim(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.status(status).set({ 'Content-Type': SCIM_CONTENT_TYPE, 'Cache-Control': 'no-store', ...headers });
  if (status === 204) {
    res.end();
    return;
  }
  res.send(JSON.stringify(body));
}

/**
 * Any error as a SCIM error body. Gateway errors keep their status and public message (401 keeps its
 * WWW-Authenticate challenge); body-parser failures become `invalidSyntax`; anything else is a 500 without detail.
 */
export function sendScimError(res: Response, err: unknown): ScimError | GatewayError {
  let e: ScimError | GatewayError;
  if (err instanceof GatewayError) e = err;
  else {
    const ge = toGatewayError(err);
    e = ge.code === 'body_malformed' ? badRequest('invalidSyntax', 'The request body is not valid JSON.') : ge;
  }
  if (e.code === 'text_invalid') e = badRequest('invalidValue', e.publicMessage);
  const headers: Record<string, string> = {};
  if (e.status === 401) headers['WWW-Authenticate'] = typeof e.extra?.wwwAuthenticate === 'string' ? e.extra.wwwAuthenticate : 'Bearer';
  if (e.status === 403 && typeof e.extra?.wwwAuthenticate === 'string') headers['WWW-Authenticate'] = e.extra.wwwAuthenticate;
  if (e.extra?.retryAfter !== undefined) headers['Retry-After'] = String(e.extra.retryAfter);
  const body: Record<string, unknown> = { schemas: [ERROR_SCHEMA], status: String(e.status), detail: e.publicMessage };
  if (e instanceof ScimError && e.scimType) body.scimType = e.scimType;
  sendScim(res, e.status, body, headers);
  return e;
}
