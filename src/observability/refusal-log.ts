import type { Logger } from './logger.js';

/**
 * Facts about a refusal that help the operator but must never reach the caller: the issuer it concerned, and the
 * token's own `iss`/`aud` beside the configured ones (a trailing slash is invisible otherwise). Kept beside the
 * error, not in it, so no HTTP answer can carry them by accident.
 */
export interface RefusalDetail {
  /** Configured issuer id the refusal concerns. */
  issuer?: string;
  /** The token's `iss` when it matched no configured issuer. */
  tokenIss?: string;
  configuredIssuers?: string[];
  /** The token's `aud` when it named none of the issuer's audiences. */
  tokenAud?: string | string[];
  configuredAudiences?: string[];
}

const details = new WeakMap<object, RefusalDetail>();

/** Adds to what is known about why `err` was thrown (earlier facts win: they are closer to the cause). */
export function noteRefusal<E>(err: E, detail: RefusalDetail): E {
  if (err && typeof err === 'object') details.set(err, { ...detail, ...details.get(err) });
  return err;
}

export function refusalDetail(err: unknown): RefusalDetail {
  return (err && typeof err === 'object' && details.get(err)) || {};
}

/** The decisive value of a refusal in words, for the CLI and `map`: empty when there is nothing to add. */
export function describeRefusal(err: unknown): string {
  const d = refusalDetail(err);
  const parts: string[] = [];
  if (d.tokenIss !== undefined) {
    parts.push(`token iss ${JSON.stringify(d.tokenIss)}; configured: ${(d.configuredIssuers ?? []).map((i) => JSON.stringify(i)).join(', ') || 'none'}`);
  }
  if (d.tokenAud !== undefined) {
    parts.push(`token aud ${JSON.stringify(d.tokenAud)}; accepted: ${(d.configuredAudiences ?? []).map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return parts.join('; ');
}

/**
 * One info line per refused request: code, status, issuer, route (the path only: a query may hold a token) and the
 * request id. Refusals are what an operator looks for first when someone "cannot get in".
 */
export function logRefusal(
  logger: Logger,
  r: { code: string; status: number; route: string; requestId?: string; err?: unknown },
): void {
  const d = refusalDetail(r.err);
  const line: Record<string, unknown> = { code: r.code, status: r.status, route: r.route };
  if (r.requestId !== undefined) line.requestId = r.requestId;
  if (d.issuer !== undefined) line.issuer = d.issuer;
  // Named after the claims: a key containing "token" would be masked by the log redaction.
  if (d.tokenIss !== undefined) Object.assign(line, { iss: d.tokenIss, configuredIssuers: d.configuredIssuers });
  if (d.tokenAud !== undefined) Object.assign(line, { aud: d.tokenAud, configuredAudiences: d.configuredAudiences });
  logger.info('request refused', line);
}
