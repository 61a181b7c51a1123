// The initial schema, one for PostgreSQL and the embedded PGlite. Plain ESM JavaScript so it loads both
// from the TypeScript sources and from dist/ (see src/store/db/migrations.ts). Times are timestamptz (UTC).

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function up(knex) {
  const now = knex.fn.now();

  await knex.schema.createTable('users', (t) => {
    t.text('id').primary(); // ULID
    t.text('usercode').notNullable();
    t.text('lifecycle').notNullable().defaultTo('ACTIVE');
    t.jsonb('status').notNullable().defaultTo('[]');
    t.text('idp_source');
    t.text('idp_reference_id');
    t.text('idp_username');
    t.text('idp_workforce_id');
    t.text('idp_cloud_username');
    t.text('display_name');
    t.text('first_name');
    t.text('last_name');
    t.text('email');
    t.text('user_type').notNullable().defaultTo('PERSON');
    t.jsonb('tags').notNullable().defaultTo('[]');
    // Bumped by every change the app can see (profile, grants, lifecycle): keys the per-user caches.
    t.bigInteger('version').notNullable().defaultTo(1);
    t.timestamp('suspended_at', { useTz: true });
    t.timestamp('deprovisioned_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(now);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(now);
    t.timestamp('last_login_at', { useTz: true });
  });
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_lifecycle_check CHECK (lifecycle IN ('ACTIVE', 'SUSPENDED', 'DEPROVISIONED'))`);
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_user_type_check CHECK (user_type IN ('PERSON', 'SERVICE'))`);
  await knex.raw('CREATE UNIQUE INDEX users_usercode_lower_uq ON users (lower(usercode))');
  await knex.raw('CREATE INDEX users_email_lower_idx ON users (lower(email))');
  await knex.raw('CREATE INDEX users_idp_reference_id_idx ON users (idp_reference_id)');
  await knex.raw('CREATE INDEX users_lifecycle_idx ON users (lifecycle, suspended_at)');

  await knex.schema.createTable('user_identities', (t) => {
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('issuer_id').notNullable();
    t.text('iss').notNullable();
    t.text('sub').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(now);
    t.primary(['iss', 'sub']);
    t.index(['user_id']);
  });

  await knex.schema.createTable('user_grants', (t) => {
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('kind').notNullable();
    t.text('name').notNullable();
    t.text('source').notNullable();
    t.primary(['user_id', 'kind', 'source', 'name']);
    t.index(['kind', 'name']);
  });
  await knex.raw(`ALTER TABLE user_grants ADD CONSTRAINT user_grants_kind_check CHECK (kind IN ('role', 'permission'))`);

  await knex.schema.createTable('user_attributes', (t) => {
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('source').notNullable();
    t.text('name').notNullable();
    t.jsonb('values').notNullable().defaultTo('[]');
    t.primary(['user_id', 'source', 'name']);
  });

  await knex.schema.createTable('sessions', (t) => {
    t.text('id_hash').primary(); // sha256 of the opaque session id; the id itself is never stored
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('issuer_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(now);
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(now);
    t.timestamp('idle_expires_at', { useTz: true }).notNullable();
    t.timestamp('absolute_expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
    t.jsonb('data').notNullable().defaultTo('{}');
    t.index(['user_id']);
  });

  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(now);
    t.text('type').notNullable();
    t.text('user_id'); // no foreign key: the trail outlives a deleted user
    t.text('usercode');
    t.text('actor');
    t.text('source');
    t.jsonb('detail').notNullable().defaultTo('{}');
    t.index(['user_id', 'at']);
    t.index(['type', 'at']);
    t.index(['at']);
  });

  await knex.schema.createTable('used_jtis', (t) => {
    t.text('issuer_id').notNullable();
    t.text('jti').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.primary(['issuer_id', 'jti']);
    t.index(['expires_at']);
  });

  await knex.schema.createTable('login_claims', (t) => {
    t.bigIncrements('id').primary();
    t.text('user_id').references('id').inTable('users').onDelete('CASCADE');
    t.text('issuer_id').notNullable();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(now);
    t.jsonb('claims').notNullable();
    t.index(['at']);
    t.index(['issuer_id', 'at']);
  });

  await knex.schema.createTable('signing_keys', (t) => {
    t.text('kid').primary();
    t.text('use').notNullable();
    t.text('alg').notNullable();
    t.jsonb('private_jwk').notNullable();
    t.jsonb('public_jwk').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(now);
    t.timestamp('retired_at', { useTz: true });
  });
}

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function down(knex) {
  for (const table of [
    'signing_keys',
    'login_claims',
    'used_jtis',
    'audit_events',
    'sessions',
    'user_attributes',
    'user_grants',
    'user_identities',
    'users',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
