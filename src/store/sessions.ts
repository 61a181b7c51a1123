import type { Knex } from 'knex';
import { SessionCookie } from '../core/sessions/cookie.js';
import { SealedFields } from '../core/sessions/sealed-fields.js';
import type { PendingSession, Session, SessionData } from '../core/sessions/session.js';

export type { Session, SessionData };

export interface SessionStoreOptions {
  idleTimeoutSeconds: number;
  absoluteTimeoutSeconds: number;
  /** `session.secret`: the tokens in session data are stored encrypted with keys derived from it. */
  secrets: readonly string[];
  now?: () => number;
}

interface Row {
  id_hash: string;
  user_id: string;
  issuer_id: string | null;
  created_at: Date | string;
  last_seen_at: Date | string;
  idle_expires_at: Date | string;
  absolute_expires_at: Date | string;
  revoked_at: Date | string | null;
  data: SessionData | string | null;
}

const ms = (d: Date | string) => (d instanceof Date ? d.getTime() : new Date(d).getTime());

/**
 * Sessions in PostgreSQL/PGlite. A session ends at its idle or absolute deadline, at logout, or when its
 * user is suspended; every check here happens against the database, caches sit in front (in core/sessions/authenticator.ts, which
 * sees this store through its SessionLiveness port).
 */
export class SessionStore {
  private readonly sealed: SealedFields;

  constructor(
    private readonly knex: Knex,
    private readonly opts: SessionStoreOptions,
  ) {
    this.sealed = new SealedFields(opts.secrets);
  }

  /** Session data as stored: its IdP tokens sealed. */
  private stored(data: Partial<SessionData>): string {
    return JSON.stringify(this.sealed.seal(data));
  }

  /** Session data as read: its IdP tokens opened. */
  private read(data: SessionData | string | null | undefined): SessionData {
    return this.sealed.open(typeof data === 'string' ? (JSON.parse(data) as SessionData) : (data ?? {}));
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  /** A new session (always a new id: no fixation) not yet written: its row goes with the sign-in's login statement. */
  prepare(data: SessionData = {}): PendingSession {
    const id = SessionCookie.newId();
    const now = this.now();
    const session: PendingSession['session'] = {
      idHash: SessionCookie.hashId(id),
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: Math.min(now + this.opts.idleTimeoutSeconds * 1000, now + this.opts.absoluteTimeoutSeconds * 1000),
      absoluteExpiresAt: now + this.opts.absoluteTimeoutSeconds * 1000,
      data,
    };
    return {
      id,
      session,
      row: {
        idHash: session.idHash,
        createdAt: new Date(now),
        lastSeenAt: new Date(now),
        idleExpiresAt: new Date(session.idleExpiresAt),
        absoluteExpiresAt: new Date(session.absoluteExpiresAt),
        data: this.sealed.seal(data),
      },
    };
  }

  /** Starts a new session (always a new id: no fixation) and returns the opaque id for the cookie. */
  async create(userId: string, issuerId: string | null, data: SessionData = {}): Promise<{ id: string; session: Session }> {
    const { id, session, row } = this.prepare(data);
    await this.knex('sessions').insert({
      id_hash: row.idHash,
      user_id: userId,
      issuer_id: issuerId,
      created_at: row.createdAt,
      last_seen_at: row.lastSeenAt,
      idle_expires_at: row.idleExpiresAt,
      absolute_expires_at: row.absoluteExpiresAt,
      data: JSON.stringify(row.data),
    });
    return { id, session: { ...session, userId, issuerId } };
  }

  /** The live session for a hash, or null when unknown, revoked or expired. */
  async getByHash(idHash: string): Promise<Session | null> {
    const row = (await this.knex('sessions').where({ id_hash: idHash }).first()) as Row | undefined;
    if (!row || row.revoked_at) return null;
    const s = toSession(row, this.read(row.data));
    return this.isLive(s) ? s : null;
  }

  isLive(s: Session): boolean {
    const now = this.now();
    return now < s.idleExpiresAt && now < s.absoluteExpiresAt;
  }

  /** Extends the idle deadline (callers throttle this so a busy session is not a write per request). */
  async touch(s: Session): Promise<Session> {
    const now = this.now();
    const idle = Math.min(now + this.opts.idleTimeoutSeconds * 1000, s.absoluteExpiresAt);
    await this.knex('sessions')
      .where({ id_hash: s.idHash })
      .whereNull('revoked_at')
      .update({ last_seen_at: new Date(now), idle_expires_at: new Date(idle) });
    return { ...s, lastSeenAt: now, idleExpiresAt: idle };
  }

  async updateData(idHash: string, data: SessionData): Promise<void> {
    await this.knex('sessions').where({ id_hash: idHash }).update({ data: this.stored(data) });
  }

  /**
   * Claims the next refresh of a live session for this process: moves `refreshedAt` from the value this caller
   * saw to `now`, only if no other process (or instance) has moved it since. Returns the session's current data
   * when the claim is ours (its refresh token is the one to redeem, whatever a cache held), null otherwise. This
   * keeps a refresh token from being redeemed twice, which a provider with reuse detection answers by revoking
   * the whole grant.
   */
  async claimRefresh(idHash: string, seen: number | undefined, now: number): Promise<SessionData | null> {
    const rows = (await this.knex('sessions')
      .where({ id_hash: idHash })
      .whereNull('revoked_at')
      .whereRaw(`coalesce(data->>'refreshedAt', '') = ?`, [seen === undefined ? '' : String(seen)])
      .update({ data: this.knex.raw('data || ?::jsonb', [JSON.stringify({ refreshedAt: now })]) }, ['data'])) as Pick<Row, 'data'>[];
    const data = rows[0]?.data;
    if (data === undefined) return null;
    return this.read(data);
  }

  /** Merges fields into a session's data (the rotated refresh token, a new id_token hint) without touching the others. */
  async mergeData(idHash: string, patch: Partial<SessionData>): Promise<void> {
    await this.knex('sessions')
      .where({ id_hash: idHash })
      .whereNull('revoked_at')
      .update({ data: this.knex.raw('data || ?::jsonb', [this.stored(patch)]) });
  }

  /** Ends one session. Returns the user it belonged to, if it was live. */
  async revoke(idHash: string): Promise<string | null> {
    const rows = (await this.knex('sessions')
      .where({ id_hash: idHash })
      .whereNull('revoked_at')
      .update({ revoked_at: new Date(this.now()) }, ['user_id'])) as { user_id: string }[];
    return rows[0]?.user_id ?? null;
  }

  /** Ends every session of a user (logout everywhere, suspension, deletion). */
  async revokeForUser(userId: string): Promise<number> {
    return this.knex('sessions')
      .where({ user_id: userId })
      .whereNull('revoked_at')
      .update({ revoked_at: new Date(this.now()) });
  }

  /** Ends the sessions started by one IdP session (back-channel logout by `sid`). */
  async revokeBySid(issuerId: string, sid: string): Promise<string[]> {
    const rows = (await this.knex('sessions')
      .where({ issuer_id: issuerId })
      .whereNull('revoked_at')
      .whereRaw(`data->>'sid' = ?`, [sid])
      .update({ revoked_at: new Date(this.now()) }, ['user_id'])) as { user_id: string }[];
    return [...new Set(rows.map((r) => r.user_id))];
  }

  async listForUser(userId: string): Promise<Session[]> {
    const rows = (await this.knex('sessions')
      .where({ user_id: userId })
      .whereNull('revoked_at')
      .where('absolute_expires_at', '>', new Date(this.now()))
      .where('idle_expires_at', '>', new Date(this.now()))
      .orderBy('created_at', 'desc')) as Row[];
    return rows.map((r) => toSession(r, this.read(r.data)));
  }

  /** Deletes sessions that ended more than a day ago. */
  async purge(): Promise<number> {
    const cutoff = new Date(this.now() - 86_400_000);
    return this.knex('sessions')
      .where((q) => q.where('absolute_expires_at', '<', cutoff).orWhere('idle_expires_at', '<', cutoff).orWhere('revoked_at', '<', cutoff))
      .delete();
  }
}

function toSession(row: Row, data: SessionData): Session {
  return {
    idHash: row.id_hash,
    userId: row.user_id,
    issuerId: row.issuer_id,
    createdAt: ms(row.created_at),
    lastSeenAt: ms(row.last_seen_at),
    idleExpiresAt: ms(row.idle_expires_at),
    absoluteExpiresAt: ms(row.absolute_expires_at),
    data,
  };
}

