// Lifecycle jobs and identity-service change events (CONTRACT §3 admin `…/jobs`, `POST /claimgate/events`, §5).

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function up(knex) {
  const now = knex.fn.now();

  // One row per job run: scheduled (slot = the scheduled instant), manual or catch-up.
  await knex.schema.createTable('job_runs', (t) => {
    t.text('id').primary(); // ULID
    t.text('job').notNullable();
    t.text('slot'); // ISO instant of the scheduled run; null for manual runs
    t.text('trigger').notNullable(); // schedule | manual | catch-up
    t.text('status').notNullable(); // running | succeeded | failed | interrupted
    t.boolean('dry_run').notNullable().defaultTo(false);
    t.text('actor');
    t.text('instance');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(now);
    t.timestamp('finished_at', { useTz: true });
    t.jsonb('counts').notNullable().defaultTo('{}');
    t.jsonb('errors').notNullable().defaultTo('[]');
    t.index(['job', 'started_at']);
  });
  // A scheduled slot runs once across every instance; an interrupted run leaves its slot free for the resumption.
  await knex.raw(`CREATE UNIQUE INDEX job_runs_slot_uq ON job_runs (job, slot) WHERE slot IS NOT NULL AND status <> 'interrupted'`);

  // Profile job back-off per user (absent: never tried, or completed).
  await knex.schema.createTable('profile_sync_state', (t) => {
    t.text('user_id').primary().references('id').inTable('users').onDelete('CASCADE');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable();
    t.text('last_outcome');
  });

  // Every event received, by eventId: a retried push is acknowledged again and changes nothing.
  await knex.schema.createTable('event_receipts', (t) => {
    t.text('event_id').primary();
    t.text('push_jti');
    t.text('event_type').notNullable();
    t.bigInteger('event_time');
    t.text('outcome').notNullable(); // success | skipped | failed
    t.text('message');
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(now);
    t.index(['received_at']);
  });

  // The newest applied eventTime per thing an event is about (user, unit, group, membership); older events skip.
  await knex.schema.createTable('event_subjects', (t) => {
    t.text('kind').notNullable(); // user | ou | group | ou-member | group-member
    t.text('subject_id').notNullable();
    t.bigInteger('last_event_time').notNullable();
    t.text('local_id'); // kind user: the gateway user id
    t.primary(['kind', 'subject_id']);
  });

  // Organisational units and groups of the identity service (kind ou | group).
  await knex.schema.createTable('event_groups', (t) => {
    t.text('kind').notNullable();
    t.text('id').notNullable();
    t.text('name');
    t.text('external_id');
    t.text('parent_id');
    t.text('description');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(now);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(now);
    t.primary(['kind', 'id']);
  });

  // Memberships by the identity service's user id (a membership may arrive before its user).
  await knex.schema.createTable('event_group_members', (t) => {
    t.text('kind').notNullable();
    t.text('group_id').notNullable();
    t.text('idaas_user_id').notNullable();
    t.boolean('is_primary').notNullable().defaultTo(false);
    t.primary(['kind', 'group_id', 'idaas_user_id']);
    t.index(['idaas_user_id']);
  });
}

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function down(knex) {
  for (const table of ['event_group_members', 'event_groups', 'event_subjects', 'event_receipts', 'profile_sync_state', 'job_runs']) {
    await knex.schema.dropTableIfExists(table);
  }
}
