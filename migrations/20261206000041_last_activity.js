// The last day a user signed in or was changed by provisioning: what the inactivity step of the deletion job reads.

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function up(knex) {
  await knex.schema.alterTable('users', (t) => {
    t.timestamp('last_activity_at', { useTz: true });
    t.index(['lifecycle', 'last_activity_at'], 'users_lifecycle_last_activity_idx');
  });
}

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function down(knex) {
  await knex.schema.alterTable('users', (t) => {
    t.dropIndex(['lifecycle', 'last_activity_at'], 'users_lifecycle_last_activity_idx');
    t.dropColumn('last_activity_at');
  });
}
