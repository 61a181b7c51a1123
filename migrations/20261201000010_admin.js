// Admin API storage (CONTRACT §3 "Admin API"): versioned claim mappings and the request log. Plain ESM
// JavaScript so it loads from the TypeScript sources and from dist/ (see src/store/db/migrations.ts).

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function up(knex) {
  const now = knex.fn.now();

  // Every saved version of a mapping, immutable. Versions count from 1 per name; the configuration file's
  // mapping is never one of them.
  await knex.schema.createTable('mapping_versions', (t) => {
    t.text('name').notNullable();
    t.integer('version').notNullable();
    t.jsonb('definition').notNullable(); // the document as sent (validated before it was stored)
    t.text('created_by');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(now);
    t.integer('rolled_back_from'); // set when this version was written by a rollback to that version
    t.primary(['name', 'version']);
  });

  // Which stored version is in force per name; `version` null means "the configuration file's mapping".
  // One row per name that was ever stored, also the lock that serialises concurrent saves of one name.
  await knex.schema.createTable('mapping_heads', (t) => {
    t.text('name').primary();
    t.integer('version');
    t.integer('last_version').notNullable().defaultTo(0);
    t.text('updated_by');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(now);
  });

  // The request log of API, SCIM, token and event calls (never proxied app traffic). Three kinds of row:
  // `request` (method, path, status, client, duration), `payload` (masked request and response bodies) and
  // `exception` (an unhandled error with its detail). Rows of one call share `request_id`.
  await knex.schema.createTable('request_logs', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(now);
    t.text('kind').notNullable();
    t.text('request_id').notNullable();
    t.text('method').notNullable();
    t.text('path').notNullable(); // query string masked
    t.integer('status');
    t.text('client_ip');
    t.text('client'); // credential name, or the client id of a token request
    t.integer('duration_ms');
    t.jsonb('detail').notNullable().defaultTo('{}');
    t.index(['at']);
    t.index(['kind', 'at']);
    t.index(['request_id']);
  });
  await knex.raw(`ALTER TABLE request_logs ADD CONSTRAINT request_logs_kind_check CHECK (kind IN ('request', 'payload', 'exception'))`);
}

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function down(knex) {
  for (const table of ['request_logs', 'mapping_heads', 'mapping_versions']) await knex.schema.dropTableIfExists(table);
}
