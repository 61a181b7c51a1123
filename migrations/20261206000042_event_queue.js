// Events of a large push that were not applied before the answer: kept here, applied by a worker.

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function up(knex) {
  const now = knex.fn.now();
  await knex.schema.createTable('event_queue', (t) => {
    t.bigIncrements('id').primary();
    t.text('push_jti');
    t.text('event_id').notNullable();
    t.text('event').notNullable(); // the parsed event as JSON text (no jsonb parsing on the hot path)
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(now);
    t.timestamp('claimed_until', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(now);
    t.index(['next_attempt_at']);
  });
}

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function down(knex) {
  await knex.schema.dropTableIfExists('event_queue');
}
