import type { IncomingMessage } from 'node:http';
import type { SessionCookie } from '../core/sessions/cookie.js';
import type { Authenticator } from '../core/sessions/authenticator.js';
import { escapeHtml } from './problem.js';

/** What the footer reads: the session cookie, the session behind it, and where the gateway's pages live. */
export interface PageNavDeps {
  basePath: string;
  cookie: Pick<SessionCookie, 'read'>;
  authenticator: Pick<Authenticator, 'fromSessionId'>;
}

/** The footer of a request's page, bound to one gateway's parts (what features receive). */
export type PageNav = (req: IncomingMessage) => Promise<string>;

/** Binds `pageNav` to one gateway's parts. */
export function createPageNav(deps: PageNavDeps): PageNav {
  return (req) => pageNav(deps, req);
}

/**
 * The footer of every page the gateway renders for a person: who is signed in (when a session exists), a
 * sign-out form and a way back to the application, so an error page is never a dead end. A failure to read
 * the session (the database is down, the account is suspended) just leaves the user out.
 */
export async function pageNav(deps: PageNavDeps, req: IncomingMessage): Promise<string> {
  let who: string | null = null;
  const sessionId = deps.cookie.read(req.headers.cookie);
  if (sessionId !== null) {
    try {
      const auth = await deps.authenticator.fromSessionId(sessionId);
      if (auth) who = auth.identity.displayName ? `${auth.identity.displayName} (${auth.identity.usercode})` : auth.identity.usercode;
    } catch {
      who = null;
    }
  }
  const base = deps.basePath;
  const parts = ['<nav aria-label="Account"><p><a href="/">Back to the application</a></p>'];
  if (who !== null) {
    parts.push(
      `<p>Signed in as <strong>${escapeHtml(who)}</strong> · <a href="${escapeHtml(base)}/me">Your account</a></p>`,
      signOutForm(base),
    );
  } else {
    parts.push(`<p><a href="${escapeHtml(base)}/login?return_to=%2F">Sign in</a></p>`);
  }
  parts.push('</nav>');
  return parts.join('');
}

/**
 * Whether an error page looks up who is signed in: not for server errors (the database may be what failed, and
 * the page must not wait for it) nor for rate-limited requests (a flood must not cost session reads).
 */
export function namesUser(status: number): boolean {
  return status < 500 && status !== 429;
}

/** A labelled POST form: a GET must not sign anyone out (link prefetchers would). */
export function signOutForm(basePath: string): string {
  return `<form method="post" action="${escapeHtml(basePath)}/logout" aria-label="Sign out"><button type="submit">Sign out</button></form>`;
}
