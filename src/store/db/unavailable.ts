import { UnavailableError } from '../../core/errors/errors.js';

/** Socket-level error codes that mean "the database cannot be reached", not "the query was wrong". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
]);

/**
 * SQLSTATEs of an unreachable or overloaded server: class 08 (connection exception), shutdowns,
 * "cannot connect now", too many connections, and statement_timeout (a database too slow to answer is
 * unavailable to us, not a bug in the request).
 */
const UNAVAILABLE_SQLSTATES = /^(08...|57P0[123]|53300|57014)$/;

const NETWORK_MESSAGES = [
  'Connection terminated',
  'connection timeout',
  'Timeout acquiring a connection',
  'is not queryable',
  'Connection ended',
  'server closed the connection',
];

/** True when the error means the database could not be reached (or answered too late). */
export function isUnavailableError(e: unknown): boolean {
  if (e instanceof UnavailableError) return true;
  if (!e || typeof e !== 'object') return false;
  const err = e as { code?: unknown; name?: unknown; message?: unknown; errors?: unknown };
  if (typeof err.code === 'string' && (NETWORK_CODES.has(err.code) || UNAVAILABLE_SQLSTATES.test(err.code))) return true;
  if (err.name === 'KnexTimeoutError') return true;
  // Node's AggregateError for a host with several addresses (IPv4 + IPv6), all refused.
  if (Array.isArray(err.errors) && err.errors.length > 0 && err.errors.every(isUnavailableError)) return true;
  const message = typeof err.message === 'string' ? err.message : '';
  return NETWORK_MESSAGES.some((m) => message.includes(m));
}

/**
 * The public error for an unreachable database. The cause kept for the server log is rebuilt from the
 * code and a redacted message only: driver errors may quote the connection string (with its password).
 */
export function databaseUnavailable(cause: unknown): UnavailableError {
  if (cause instanceof UnavailableError) return cause;
  const err = (cause ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : 'unknown';
  const message = redactUrls(typeof err.message === 'string' ? err.message : String(cause));
  return new UnavailableError('database_unavailable', 'The user database is unavailable', new Error(`${code}: ${message}`));
}

/** Wraps unavailability errors, passes every other error through unchanged. */
export function toDatabaseError(e: unknown): unknown {
  return isUnavailableError(e) ? databaseUnavailable(e) : e;
}

/** Removes credentials from anything that looks like a connection URL or a `password=` pair. */
export function redactUrls(text: string): string {
  return text
    .replace(/\b(postgres(?:ql)?:\/\/)[^\s'"]*/gi, '$1[redacted]')
    .replace(/(password\s*=\s*)\S+/gi, '$1[redacted]');
}
