// SCIM 2.0 (CONTRACT §3 Provisioning): the SCIM-only part of a user, groups and their memberships. SCIM users are
// the gateway's users (userName = usercode); what has no users column (title, phone numbers, the enterprise
// extension, the manager…) lives in scim_users.attributes. Passwords are never stored anywhere.

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function up(knex) {
  const now = knex.fn.now();
  await knex.schema.createTable('scim_users', (t) => {
    t.text('user_id').primary().references('id').inTable('users').onDelete('CASCADE');
    // The SCIM attributes without a users column, canonical names, as the client last set them.
    t.jsonb('attributes').notNullable().defaultTo('{}');
  });

  await knex.schema.createTable('scim_groups', (t) => {
    t.text('id').primary(); // ULID
    t.text('display_name').notNullable();
    t.text('external_id');
    t.bigInteger('version').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(now);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(now);
  });
  // IdPs match groups by displayName (case-insensitive in SCIM) and externalId before creating them.
  await knex.raw('CREATE INDEX scim_groups_display_name_lower_idx ON scim_groups (lower(display_name))');
  await knex.raw('CREATE INDEX scim_groups_external_id_idx ON scim_groups (external_id)');

  await knex.schema.createTable('scim_group_members', (t) => {
    t.text('group_id').notNullable().references('id').inTable('scim_groups').onDelete('CASCADE');
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.primary(['group_id', 'user_id']);
    t.index(['user_id']);
  });
}

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function down(knex) {
  for (const table of ['scim_group_members', 'scim_groups', 'scim_users']) await knex.schema.dropTableIfExists(table);
}
