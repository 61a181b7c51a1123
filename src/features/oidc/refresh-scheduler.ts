import type { OidcEnv } from './deps.js';
import { recordAudit } from '../../store/audit-log.js';
import type { Session } from '../../core/sessions/session.js';
import { refreshSession, type RefreshOutcome } from './session-refresh.js';

/**
 * Periodic re-mapping of OIDC sessions from their refresh tokens (`oidc.refreshIntervalSeconds > 0`).
 *
 * Why triggered by requests and not by a periodic sweep: only sessions somebody is using need fresh roles, so
 * an idle session costs the IdP nothing (a sweep would redeem every live session's refresh token every interval,
 * and could keep a refresh token alive for a session nobody will come back to); the refresh happens exactly when
 * its result matters; and there is no table scan or cross-instance schedule to coordinate. The request itself
 * never waits: `observe` is a few in-memory comparisons on the hot path, the refresh runs in the background and
 * its outcome reaches the next requests through the invalidation bus (the user's new grants, or the ended
 * session). The cost: a session's roles are at most one interval plus one request old, and a session that
 * is not used is not refreshed (it is not used either, and its idle timeout ends it).
 *
 * At most one refresh per session is in flight in this process (a map by session hash); across processes and
 * instances a compare-and-set on `refreshedAt` in the database picks one winner, which redeems the refresh token
 * it read in that same statement, so a token is never redeemed twice. A passing failure (provider down) is
 * retried after the next interval; a refusal (`invalid_grant`, the mapping or the user's lifecycle now says no)
 * ends the session on every process. Logs carry codes, never a token.
 */
export class RefreshScheduler {
  private readonly intervals = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly env: OidcEnv) {
    for (const i of env.config.issuers) {
      const seconds = i.oidc?.refreshIntervalSeconds ?? 0;
      if (seconds > 0) this.intervals.set(i.id, seconds * 1000);
    }
  }

  /** True when some issuer re-maps sessions (otherwise the gateway does not wire this in at all). */
  get enabled(): boolean {
    return this.intervals.size > 0;
  }

  /** On the request path: starts a background refresh when one is due. Never throws, never waits. */
  observe(session: Session): void {
    if (this.closed || session.issuerId === null || !session.data.refreshToken) return;
    const intervalMs = this.intervals.get(session.issuerId);
    if (intervalMs === undefined || this.inflight.has(session.idHash)) return;
    const now = this.env.now();
    if (now - (session.data.refreshedAt ?? 0) < intervalMs) return;
    const idHash = session.idHash;
    const run = this.run(session, Math.floor(now))
      .catch((e: unknown) => {
        this.env.logger.warn('session refresh failed', { userId: session.userId, issuer: session.issuerId, code: (e as { code?: string }).code ?? 'error' });
      })
      .finally(() => this.inflight.delete(idHash));
    this.inflight.set(idHash, run);
  }

  /** Waits for the refreshes in flight; starts no new ones (gateway shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inflight.values()]);
  }

  /** Resolves when every refresh in flight now has finished (tests). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()]);
  }

  private async run(session: Session, now: number): Promise<void> {
    const data = await this.env.sessions.claimRefresh(session.idHash, session.data.refreshedAt, now);
    if (!data) {
      // Another process refreshed it (or it ended): our cached copy is stale, read it again next time.
      this.env.sessionCache.delete(session.idHash);
      return;
    }
    let outcome: RefreshOutcome;
    try {
      outcome = await refreshSession(this.env, session, data);
    } finally {
      // Every process re-reads the session: the claimed refreshedAt, the rotated refresh token.
      await this.env.bus.publish({ kind: 'session', id: session.idHash });
    }
    const fields = { userId: session.userId, issuer: session.issuerId };
    if (outcome.outcome === 'remapped') {
      this.env.logger.info('session re-mapped from refresh token', { ...fields, changed: outcome.changed });
    } else if (outcome.outcome === 'failed') {
      this.env.logger.warn('session refresh failed; retried after the next interval', { ...fields, code: outcome.code });
    } else {
      await this.end(session, outcome.reason);
    }
  }

  private async end(session: Session, reason: string): Promise<void> {
    await this.env.sessions.revoke(session.idHash);
    // The audit row is written before other processes drop their copy, so whoever sees the session end finds it.
    await recordAudit(this.env.knex, {
      type: 'logout',
      userId: session.userId,
      source: `mapping:${session.issuerId}`,
      detail: { issuer: session.issuerId, via: 'refresh', reason },
    });
    await this.env.bus.publish({ kind: 'session', id: session.idHash });
    this.env.logger.info('session ended: the provider or the mapping refused its refresh', { userId: session.userId, issuer: session.issuerId, reason });
  }
}
