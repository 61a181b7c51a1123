import type { Knex } from 'knex';

/** Queue depth and failures, for the admin API and the queue gauge. */
export async function queueStatus(knex: Knex): Promise<{ depth: number; failing: number; oldest: string | null; lastError: string | null }> {
  const r = (await knex('event_queue').count({ n: '*' }).min({ oldest: 'created_at' }).first()) as { n: string | number; oldest: Date | string | null };
  const f = (await knex('event_queue').where('attempts', '>', 0).count({ n: '*' }).first()) as { n: string | number };
  const last = (await knex('event_queue').whereNotNull('last_error').orderBy('id').first('last_error')) as { last_error: string } | undefined;
  return {
    depth: Number(r.n),
    failing: Number(f.n),
    oldest: r.oldest ? new Date(r.oldest).toISOString() : null,
    lastError: last?.last_error ?? null,
  };
}
