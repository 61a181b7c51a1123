import type { Knex } from 'knex';

/**
 * Single-use SSO-link token ids, per issuer. The row lives until the token could no longer be accepted
 * anyway (its `exp` plus clock tolerance), then the purge removes it.
 */
export class JtiStore {
  constructor(private readonly knex: Knex) {}

  /** Records the jti; false when it was already used (a replay). Atomic across instances. */
  async consume(issuerId: string, jti: string, expiresAt: Date): Promise<boolean> {
    const rows = (await this.knex('used_jtis')
      .insert({ issuer_id: issuerId, jti, expires_at: expiresAt })
      .onConflict(['issuer_id', 'jti'])
      .ignore()
      .returning('jti')) as unknown[];
    return rows.length === 1;
  }

  /** True when this jti was already consumed as a sign-in link (and has not been purged since). */
  async isUsed(issuerId: string, jti: string): Promise<boolean> {
    return (await this.knex('used_jtis').where({ issuer_id: issuerId, jti }).first('jti')) !== undefined;
  }

  async purge(now = new Date()): Promise<number> {
    return this.knex('used_jtis').where('expires_at', '<', now).delete();
  }
}
