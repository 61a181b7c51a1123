import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import type { LoginResult } from '../core/login/login-service.js';
import type { SessionData } from '../core/sessions/session.js';
import type { SessionStore } from '../store/sessions.js';
import type { Claims } from '../core/mapping/types.js';
import type { InvalidationBus } from '../core/cache/invalidation.js';
import type { UserRecord } from '../store/users/index.js';
import type { Logger } from '../observability/logger.js';
import type { Tracing } from '../observability/tracing.js';
import { recordAudit } from '../store/audit-log.js';
import { SessionCookie } from '../core/sessions/cookie.js';

/** What starting and ending a browser session needs. */
export interface SignInDeps {
  knex: Knex;
  logger: Logger;
  tracing: Pick<Tracing, 'span'>;
  bus: Pick<InvalidationBus, 'publish'>;
  cookie: Pick<SessionCookie, 'read' | 'serialize'>;
  sessions: Pick<SessionStore, 'create' | 'revoke'>;
  /**
   * Redirect mode: where a browser that just signed in goes instead of its `return_to` (the app's SSO URL with a
   * fresh hand-off token, see features/redirect/redirect-mode.ts). Absent in the other modes.
   */
  handoff?: (user: UserRecord, claims: Claims) => Promise<string>;
}

/** The end of every sign-in method and the end of a session. */
export class SignIn {
  constructor(private readonly deps: SignInDeps) {}

  /**
   * Ends the sign-in of every method (SSO link, form post, OIDC callback): a NEW session (never the one the
   * browser came with: no fixation), the cookie, the audit line, and the 303 to where the user was going — in
   * `redirect` mode, to the app's own SSO URL with a freshly minted hand-off token instead.
   */
  async start(req: Request, res: Response, result: LoginResult, data: SessionData, target: string): Promise<void> {
    const d = this.deps;
    const previous = d.cookie.read(req.headers.cookie);
    if (previous) await this.end(previous);
    if (d.handoff) {
      target = await d.handoff(result.user, result.claims);
      // The hand-off token travels in the URL: it must not leak onwards through a Referer.
      res.setHeader('Referrer-Policy', 'no-referrer');
    }
    // The sign-in's login statement may have started the session already (and audited the login) with the user sync.
    let id = result.session?.id;
    if (id === undefined) {
      ({ id } = await d.tracing.span('claimgate.session', { 'claimgate.issuer': result.issuer.id }, () =>
        d.sessions.create(result.user.id, result.issuer.id, data),
      ));
      await recordAudit(d.knex, {
        type: 'login',
        userId: result.user.id,
        usercode: result.user.usercode,
        actor: `login:${result.issuer.id}`,
        source: `mapping:${result.issuer.id}`,
        detail: { issuer: result.issuer.id, created: result.created, changed: result.changed },
      });
    }
    d.logger.info('sign-in', { userId: result.user.id, issuer: result.issuer.id, created: result.created });
    // Appended: the OIDC callback has already queued the removal of its transaction cookie.
    res.append('Set-Cookie', d.cookie.serialize(id));
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, target);
  }

  /** Revokes a session by its opaque id and tells every process. */
  async end(id: string): Promise<string | null> {
    const idHash = SessionCookie.hashId(id);
    const userId = await this.deps.sessions.revoke(idHash);
    await this.deps.bus.publish({ kind: 'session', id: idHash });
    return userId;
  }
}
