// knex ships no types for its dialect modules; the PostgreSQL one exports its client class.
declare module 'knex/lib/dialects/postgres/index.js' {
  import type { Knex } from 'knex';
  const PostgresClient: typeof Knex.Client;
  export default PostgresClient;
}
