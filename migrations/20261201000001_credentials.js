// API credentials (CONTRACT §1 `claimgate tokens`, §3 admin API and /oauth/token). Secrets are stored only as
// SHA-256 hashes: they are 256-bit random values, so a slow hash adds nothing.

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function up(knex) {
  await knex.schema.createTable('api_credentials', (t) => {
    t.text('id').primary(); // ULID
    t.text('name').notNullable();
    t.text('client_id').notNullable().unique(); // a GUID, for /oauth/token
    t.text('secret_hash').notNullable(); // sha256 of the client secret
    t.text('token_hash').notNullable().unique(); // sha256 of the static bearer token
    t.jsonb('scopes').notNullable().defaultTo('[]');
    t.text('created_by');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
  });
  // A name is unique among live credentials; a revoked name can be reused.
  await knex.raw('CREATE UNIQUE INDEX api_credentials_live_name_uq ON api_credentials (name) WHERE revoked_at IS NULL');
}

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function down(knex) {
  await knex.schema.dropTableIfExists('api_credentials');
}
