// The audit stream's outbox: every audit event is queued here, in the transaction that wrote it, while a stream is
// configured; the streamer delivers and deletes rows. A trigger (rather than application code) guarantees that no
// path that writes the audit trail can bypass the stream.

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function up(knex) {
  await knex.schema.createTable('audit_stream_outbox', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('audit_id').notNullable();
  });
  // One row: whether any instance streams. Written at start-up from the configuration.
  await knex.schema.createTable('audit_stream_settings', (t) => {
    t.integer('id').primary();
    t.boolean('enabled').notNullable().defaultTo(false);
  });
  await knex('audit_stream_settings').insert({ id: 1, enabled: false });
  await knex.raw(`
    CREATE FUNCTION claimgate_audit_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM audit_stream_settings WHERE id = 1 AND enabled) THEN
        INSERT INTO audit_stream_outbox (audit_id) VALUES (NEW.id);
      END IF;
      RETURN NULL;
    END
    $$`);
  await knex.raw(`CREATE TRIGGER audit_events_outbox AFTER INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION claimgate_audit_outbox()`);
}

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function down(knex) {
  await knex.raw('DROP TRIGGER IF EXISTS audit_events_outbox ON audit_events');
  await knex.raw('DROP FUNCTION IF EXISTS claimgate_audit_outbox()');
  await knex.schema.dropTableIfExists('audit_stream_settings');
  await knex.schema.dropTableIfExists('audit_stream_outbox');
}
