import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Config } from '../core/config/schema.js';
import type { TrustMap } from '../core/tokens/index.js';
import type { MappingRegistry } from '../core/login/mapping-registry.js';
import type { LoginService } from '../core/login/login-service.js';
import type { SessionStore } from '../store/sessions.js';
import type { Authenticator } from '../core/sessions/authenticator.js';
import type { UserStore } from '../store/users/index.js';
import type { Logger } from '../observability/logger.js';
import { GatewayError } from '../core/errors/errors.js';
import { safeReturnTo } from './return-to.js';
import { evaluateMapping } from '../core/mapping/index.js';
import type { Claims } from '../core/mapping/types.js';
import { SessionCookie } from '../core/sessions/cookie.js';
import { escapeHtml, htmlPage } from './problem.js';
import type { SignIn } from './sign-in.js';

/** What the sign-in switch reads and calls. */
export interface SsoSwitchDeps {
  config: Pick<Config, 'session' | 'basePath' | 'publicUrl' | 'issuers' | 'returnTo'>;
  cookie: Pick<SessionCookie, 'read'>;
  authenticator: Pick<Authenticator, 'fromSessionId'>;
  trustMap: Pick<TrustMap, 'verify'>;
  mappings: Pick<MappingRegistry, 'get'>;
  users: Pick<UserStore, 'getById'>;
  login: Pick<LoginService, 'spendLink' | 'loginWithClaims'>;
  sessions: Pick<SessionStore, 'getByHash' | 'isLive'>;
  signIn: Pick<SignIn, 'start'>;
  logger: Logger;
  now: () => number;
}

/** How long the "continue as" page may stay open before its form is refused. */
const PENDING_SECONDS = 300;

/** A sign-in held back until the person confirms it: who, from where, for which session, until when. */
interface Pending {
  /** Issuer id. */
  i: string;
  /** The link's verified claims (mapped again when confirmed). */
  c: Claims;
  /** The validated return_to. */
  r: string;
  /** Hash of the session the page was shown to. */
  s: string;
  /** Epoch seconds after which the form is refused. */
  e: number;
}

/**
 * Login CSRF through a sign-in link: any page can send a browser to `/sso?jwt=<a link for the attacker's account>`,
 * which would silently replace the session of whoever is signed in there, and the victim then works (uploads,
 * saves reports) inside the attacker's account. So when a browser that already has a live session of ANOTHER user
 * opens a link, the gateway signs nobody in: it shows "Continue as X? You are signed in as Y" with a POST form.
 *
 * - The link's jti is spent when the page is shown, so the link itself cannot be replayed (not by the attacker
 *   either); what the form carries is the verified claims, sealed (AES-256-GCM, key derived from
 *   `session.secret`), bound to the browser's current session and valid for five minutes.
 * - The form's CSRF token is an HMAC of the current session id (which only that browser holds) and the sealed
 *   sign-in: a page elsewhere can neither forge it nor use one made for another browser; the page itself cannot be
 *   framed (gateway responses forbid framing), so nobody can trick the click.
 * - Confirming starts a new session and ends the old one, so the same form cannot be posted twice.
 * - The same user (bound to the link's issuer and subject, or the usercode the link maps to) proceeds as before.
 * - A cross-site form post carries no SameSite=Lax session cookie, so it is first turned into the same sign-in as a
 *   top-level GET (which carries it), before anything is spent.
 */
export class SsoSwitch {
  private readonly sealKeys: Buffer[];
  private readonly macKeys: Buffer[];

  constructor(private readonly deps: SsoSwitchDeps) {
    const derive = (info: string) => deps.config.session.secret.map((s) => Buffer.from(hkdfSync('sha256', Buffer.from(s, 'utf8'), Buffer.alloc(0), info, 32)));
    this.sealKeys = derive('claimgate pending sign-in v1');
    this.macKeys = derive('claimgate sign-in switch csrf v1');
  }

  /**
   * Called by `/sso` before signing in. When a different user is signed in in this browser, answers the
   * confirmation page (the link's jti spent, nothing else written) and returns true; otherwise false, and `/sso`
   * goes on as usual (its own checks then refuse whatever is wrong with the token).
   */
  async intercept(req: Request, res: Response, token: string): Promise<boolean> {
    const sessionId = this.deps.cookie.read(req.headers.cookie);
    if (!sessionId && req.method === 'POST' && this.crossSite(req)) {
      // A cross-site form post arrives without a SameSite=Lax session cookie, so the gateway cannot tell whether
      // someone is signed in here. The same sign-in as a top-level GET carries that cookie: send it there, with
      // nothing spent yet.
      const params = new URLSearchParams({ jwt: token, return_to: returnToOf(this.deps, req) });
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(303, `${this.deps.config.basePath}/sso?${params.toString()}`);
      return true;
    }
    if (!sessionId) return false;
    const current = await this.deps.authenticator.fromSessionId(sessionId).catch(() => null);
    if (!current) return false;
    let issuer, claims: Claims, tokenHash: string;
    try {
      const verified = await this.deps.trustMap.verify(token, { purpose: 'sso' });
      issuer = verified.issuer;
      claims = verified.claims as Claims;
      tokenHash = verified.tokenHash;
    } catch {
      return false;
    }
    if (!issuer.ssoLink.enabled) return false;
    const mapping = this.deps.mappings.get(issuer.mapping);
    if (!mapping) return false;
    const outcome = evaluateMapping(mapping.compiled, claims);
    if (!outcome.allowed) return false;
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    const user = await this.deps.users.getById(current.identity.userId);
    if (!user) return false;
    const boundHere = user.identities.some((b) => b.iss === issuer.issuer && b.sub === sub);
    const boundElsewhere = !boundHere && user.identities.some((b) => b.issuerId === issuer.id);
    if (boundHere || (!boundElsewhere && user.usercode === outcome.user.usercode)) return false;

    await this.deps.login.spendLink(issuer, claims, tokenHash);
    const pending: Pending = {
      i: issuer.id,
      c: claims,
      r: returnToOf(this.deps, req),
      s: SessionCookie.hashId(sessionId),
      e: Math.floor(this.deps.now() / 1000) + PENDING_SECONDS,
    };
    const sealed = this.seal(pending);
    this.deps.logger.info('sign-in link held for confirmation', { userId: current.identity.userId, issuer: issuer.id });
    const base = this.deps.config.basePath;
    const next = escapeHtml(outcome.user.usercode);
    const now = escapeHtml(user.usercode);
    res.setHeader('Cache-Control', 'no-store');
    res
      .status(200)
      .type('html')
      .send(
        htmlPage(
          `Continue as ${outcome.user.usercode}?`,
          `<h1>Continue as ${next}?</h1>` +
            `<p>You are signed in as <strong>${now}</strong>. This sign-in link is for <strong>${next}</strong>.</p>` +
            `<p>Continue only if you opened this link yourself. Continuing signs you out as ${now}.</p>` +
            `<form method="post" action="${escapeHtml(`${base}/sso/confirm`)}">` +
            `<input type="hidden" name="pending" value="${escapeHtml(sealed)}">` +
            `<input type="hidden" name="csrf_token" value="${escapeHtml(this.csrfToken(sessionId, sealed))}">` +
            `<button type="submit">Continue as ${next}</button></form>` +
            `<p><a href="${escapeHtml(pending.r)}">Stay signed in as ${now}</a></p>`,
        ),
      );
    return true;
  }

  /** A request a browser sent from another site (Fetch metadata, else an Origin that is not ours). */
  private crossSite(req: Request): boolean {
    const site = req.headers['sec-fetch-site'];
    if (typeof site === 'string') return site === 'cross-site';
    const origin = req.headers.origin;
    return typeof origin === 'string' && origin !== new URL(this.deps.config.publicUrl).origin;
  }

  /** `POST /sso/confirm`: the confirmed switch. Refused (403 `csrf_failed`) unless made by the same browser and session. */
  confirm = async (req: Request, res: Response): Promise<void> => {
    res.setHeader('Cache-Control', 'no-store');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const sealed = body.pending;
    const given = body.csrf_token;
    const sessionId = this.deps.cookie.read(req.headers.cookie);
    const refused = () => new GatewayError('csrf_failed', 'This confirmation is not valid for this browser. Open the sign-in link again.');
    if (typeof sealed !== 'string' || typeof given !== 'string' || !sessionId) throw refused();
    if (!this.checkCsrf(sessionId, sealed, given)) throw refused();
    const pending = this.open(sealed);
    if (!pending || pending.s !== SessionCookie.hashId(sessionId)) throw refused();
    if (pending.e < Math.floor(this.deps.now() / 1000)) {
      throw new GatewayError('switch_expired', 'This confirmation has expired. Open the sign-in link again.');
    }
    const session = await this.deps.sessions.getByHash(pending.s);
    if (!session || !this.deps.sessions.isLive(session)) throw refused();
    const issuer = this.deps.config.issuers.find((i) => i.id === pending.i);
    if (!issuer) throw refused();
    const result = await this.deps.login.loginWithClaims(issuer, pending.c, 'sso');
    await this.deps.signIn.start(req, res, result, {}, pending.r);
  };

  private csrfToken(sessionId: string, sealed: string, key = this.macKeys[0]!): string {
    return createHmac('sha256', key).update(`${sessionId}\n${sealed}`).digest('base64url');
  }

  private checkCsrf(sessionId: string, sealed: string, given: string): boolean {
    const g = Buffer.from(given);
    return this.macKeys.some((k) => {
      const want = Buffer.from(this.csrfToken(sessionId, sealed, k));
      return want.length === g.length && timingSafeEqual(want, g);
    });
  }

  private seal(p: Pending): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.sealKeys[0]!, iv);
    const body = Buffer.concat([c.update(JSON.stringify(p), 'utf8'), c.final()]);
    return `${iv.toString('base64url')}.${body.toString('base64url')}.${c.getAuthTag().toString('base64url')}`;
  }

  private open(sealed: string): Pending | null {
    if (sealed.length > 65536) return null;
    const [iv, body, tag] = sealed.split('.');
    if (!iv || body === undefined || !tag) return null;
    for (const key of this.sealKeys) {
      try {
        const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        d.setAuthTag(Buffer.from(tag, 'base64url'));
        const p = JSON.parse(Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8')) as Pending;
        if (typeof p?.i !== 'string' || typeof p.s !== 'string' || typeof p.r !== 'string' || typeof p.e !== 'number' || typeof p.c !== 'object') return null;
        return p;
      } catch {
        // another key, or tampered
      }
    }
    return null;
  }
}

/** The link's return_to, checked exactly as `/sso` checks it. */
function returnToOf(deps: Pick<SsoSwitchDeps, 'config'>, req: Request): string {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const raw = req.method === 'GET' ? req.query.return_to : (body.return_to ?? req.query.return_to);
  return safeReturnTo(raw, { publicUrl: deps.config.publicUrl, allowedOrigins: deps.config.returnTo.allowedOrigins, basePath: deps.config.basePath });
}
