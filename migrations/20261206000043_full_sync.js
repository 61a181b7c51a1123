// Full pushes of the identity service: each run, what it mentioned, and when each subject last had an event.

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function up(knex) {
  const now = knex.fn.now();
  await knex.schema.createTable('event_full_sync', (t) => {
    t.bigIncrements('id').primary();
    t.text('status').notNullable().defaultTo('open'); // open | completed | interrupted
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(now);
    t.timestamp('last_event_at', { useTz: true }).notNullable().defaultTo(now);
    t.timestamp('completed_at', { useTz: true });
    t.text('interrupted_reason');
  });
  // At most one open run: concurrent first events of a push join the same run.
  await knex.raw(`CREATE UNIQUE INDEX event_full_sync_open_uq ON event_full_sync ((status)) WHERE status = 'open'`);
  await knex.schema.createTable('event_full_sync_seen', (t) => {
    t.bigInteger('run_id').notNullable();
    t.text('kind').notNullable(); // user | ou
    t.text('subject_id').notNullable();
    t.primary(['run_id', 'kind', 'subject_id']);
  });
  await knex.schema.alterTable('event_subjects', (t) => {
    t.timestamp('applied_at', { useTz: true });
  });
}

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function down(knex) {
  await knex.schema.alterTable('event_subjects', (t) => {
    t.dropColumn('applied_at');
  });
  await knex.schema.dropTableIfExists('event_full_sync_seen');
  await knex.schema.dropTableIfExists('event_full_sync');
}
