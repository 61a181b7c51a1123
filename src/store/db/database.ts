import type { Knex } from 'knex';
import type { DataDirLock } from './data-dir-lock.js';

/** How to reach the database (`database` in docs/configuration.md). */
export interface DatabaseOptions {
  /** PostgreSQL URL; empty selects the embedded PGlite in `dataDir`. Never logged (it may hold a password). */
  url: string;
  /** PGlite data directory, created if missing. Only one process may own it. */
  dataDir: string;
  /** Pool size per process (PostgreSQL only; PGlite is one connection). Size it for several instances. */
  poolMax: number;
  /** Connect and pool-acquire timeout: pg waits forever by default, which would hang requests. */
  connectionTimeoutMs: number;
  /** Server-side statement_timeout for every pool connection. */
  statementTimeoutMs: number;
  /** PostgreSQL schema to work in (tests: one schema per test database). Default: the server's search_path. */
  schema?: string;
  /** PGlite only: keep the database in memory (tests), ignoring `dataDir`. */
  inMemory?: boolean;
  /** PGlite in memory only: start from this data directory dump (`PGlite.dumpDataDir()`), e.g. a migrated template. */
  loadDataDir?: Blob;
  /**
   * Where driver warnings go (listener drops, knex pool errors), already redacted of URLs and passwords.
   * Default: nowhere (callers get every failure as an error anyway).
   */
  logger?: DatabaseLogger;
}

/** The slice of a logger the database layer uses (a winston Logger fits). */
export interface DatabaseLogger {
  warn(message: string, meta?: Record<string, unknown>): void;
}

/** Callback for a NOTIFY payload. */
export type NotificationHandler = (payload: string) => void;

/**
 * Listener state: `true` once (re)subscribed, `false` while the listener is down. Callers must read
 * through their caches while it is `false`, and flush them on the next `true` (messages sent while the
 * listener was down are lost).
 */
export type ListenStateHandler = (listening: boolean) => void;

/** The database the gateway runs on: PostgreSQL (several instances) or the embedded PGlite (one process). */
export interface Database {
  readonly knex: Knex;
  readonly kind: 'postgres' | 'pglite';
  /** Applies pending migrations (migrations/, one schema for both kinds). */
  migrate(): Promise<void>;
  /**
   * Sends a NOTIFY on `channel` (each payload at most ~8000 bytes; several are sent in one statement and delivered in
   * order). Inside no transaction: delivered at once.
   */
  notify(channel: string, payload: string | readonly string[]): Promise<void>;
  /**
   * Subscribes to `channel`. On PostgreSQL a dedicated connection outside the pool listens and reconnects
   * with back-off when it drops, reporting through `onState`. Resolves after the first attempt, even a
   * failed one (it then keeps retrying). Returns the unsubscribe function.
   */
  listen(channel: string, onMessage: NotificationHandler, onState?: ListenStateHandler): Promise<() => Promise<void>>;
  /** True while every subscription is live (always true on PGlite, and when nothing is subscribed). */
  isListening(): boolean;
  /** Throws `UnavailableError('database_unavailable')` when the database does not answer. */
  healthCheck(): Promise<void>;
  /** PGlite on disk: the lock this process holds on its data directory (null otherwise). */
  readonly dataDirLock?: DataDirLock | null;
  /** Stops the listener and closes every connection. */
  close(): Promise<void>;
  /** PGlite only: the data directory as an uncompressed tar, loadable through `loadDataDir`. */
  dumpDataDir?(): Promise<Blob>;
}

/** One statement that notifies `channel` of each payload in order, and its bindings. */
export function notifyStatement(channel: string, payload: string | readonly string[], prefix = ''): { sql: string; bindings: string[] } {
  const payloads = typeof payload === 'string' ? [payload] : payload;
  const calls = payloads.map(() => 'pg_notify(?, ?)');
  return { sql: `SELECT ${[prefix, ...calls].filter(Boolean).join(', ')}`, bindings: payloads.flatMap((p) => [channel, p]) };
}
