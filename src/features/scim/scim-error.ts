import type { Response } from 'express';
import { GatewayError, type ErrorCode } from '../../core/errors/errors.js';
import { errorAnswer, toGatewayError } from '../../web/problem.js';
import { ERROR_SCHEMA } from './schema.js';

/** The RFC 7644 (section 3.12) `scimType` values the gateway answers with; each is a code of the error table. */
export type ScimType = Extract<ErrorCode, 'invalidFilter' | 'uniqueness' | 'mutability' | 'invalidSyntax' | 'invalidPath' | 'noTarget' | 'invalidValue'>;

const SCIM_TYPES: ReadonlySet<string> = new Set<ScimType>(['invalidFilter', 'uniqueness', 'mutability', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue']);

function isScimType(code: string): code is ScimType {
  return SCIM_TYPES.has(code);
}

/**
 * A SCIM error: rendered as an RFC 7644 (section 3.12) body. Its code is the `scimType` (status from the error
 * table), or `not_found` for a resource that does not exist.
 */
export class ScimError extends GatewayError {
  readonly scimType?: ScimType;
  constructor(code: ScimType | 'not_found', detail: string) {
    super(code, detail);
    this.name = 'ScimError';
    this.scimType = isScimType(code) ? code : undefined;
  }
}

export const badRequest = (scimType: ScimType, detail: string) => new ScimError(scimType, detail);
export const notFound = (what: string) => new ScimError('not_found', `${what} not found`);

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
 * Any error as a SCIM error body. Gateway errors keep their status (from the error table) and public message, and
 * the challenge or `Retry-After` that goes with them; body-parser failures become `invalidSyntax`; anything else is a
 * 500 without detail.
 */
export function sendScimError(res: Response, err: unknown): GatewayError {
  let e: GatewayError;
  if (err instanceof GatewayError) e = err;
  else {
    const ge = toGatewayError(err);
    e = ge.code === 'body_malformed' ? badRequest('invalidSyntax', 'The request body is not valid JSON.') : ge;
  }
  if (e.code === 'text_invalid') e = badRequest('invalidValue', e.publicMessage);
  const { status, headers } = errorAnswer(e);
  const body: Record<string, unknown> = { schemas: [ERROR_SCHEMA], status: String(status), detail: e.publicMessage };
  if (e instanceof ScimError && e.scimType) body.scimType = e.scimType;
  sendScim(res, status, body, headers);
  return e;
}
