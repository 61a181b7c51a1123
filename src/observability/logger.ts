import { AsyncLocalStorage } from 'node:async_hooks';
import winston from 'winston';
import { redact, redactString } from './redact.js';

/**
 * winston JSON logs on stderr-free stdout (or stderr for CLI `--json` runs, so stdout carries one document).
 * Every line passes through redaction; a request id joins lines of one request.
 */
export type Logger = winston.Logger;

/** The request a log line belongs to; set by the HTTP front door for the whole of each request. */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();

const requestIdFormat = winston.format((info) => {
  const ctx = requestContext.getStore();
  if (ctx && info.requestId === undefined) info.requestId = ctx.requestId;
  return info;
});

const redactFormat = winston.format((info) => {
  const masked = redact({ ...info }) as Record<string, unknown>;
  for (const k of Object.keys(info)) delete (info as Record<string, unknown>)[k];
  Object.assign(info, masked);
  if (typeof info.message === 'string') info.message = redactString(info.message);
  return info;
});

export function createLogger(opts: { level?: string; stream?: 'stdout' | 'stderr'; silent?: boolean } = {}): Logger {
  return winston.createLogger({
    level: opts.level ?? 'info',
    silent: opts.silent ?? false,
    format: winston.format.combine(winston.format.timestamp(), requestIdFormat(), redactFormat(), winston.format.json()),
    transports: [
      new winston.transports.Console({
        stderrLevels: opts.stream === 'stderr' ? ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] : ['error'],
      }),
    ],
  });
}
