import type { Knex } from 'knex';
import PostgresDialect from 'knex/lib/dialects/postgres/index.js';
import { toDatabaseError } from './unavailable.js';

type ClientClass = typeof Knex.Client;

/**
 * A knex client class whose connection and query failures caused by an unreachable database surface as
 * `UnavailableError('database_unavailable')`, for every caller of `db.knex` (transactions included: knex
 * builds transaction clients from this prototype). Anything else (constraint violations, syntax) passes
 * through untouched.
 */
export function withUnavailableErrors(Base: ClientClass): ClientClass {
  class ClaimgateClient extends Base {
    override async acquireConnection(): Promise<unknown> {
      try {
        return await super.acquireConnection();
      } catch (e) {
        throw toDatabaseError(e);
      }
    }

    override query(connection: unknown, obj: unknown): Promise<unknown> {
      return (super.query(connection, obj) as Promise<unknown>).catch((e: unknown) => {
        throw toDatabaseError(e);
      });
    }
  }
  return ClaimgateClient;
}

/** knex's own PostgreSQL dialect class (what `client: 'pg'` selects). */
export function postgresClientClass(): ClientClass {
  return PostgresDialect;
}
