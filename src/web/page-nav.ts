import type { IncomingMessage } from 'node:http';
import type { GatewayContext } from '../app/gateway-context.js';
import { escapeHtml } from './problem.js';

/**
 * The footer of every page the gateway renders for a person: who is signed in (when a session exists), a
 * sign-out form and a way back to the application, so an error page is never a dead end. A failure to read
 * the session (the database is down, the account is suspended) just leaves the user out.
 */
export async function pageNav(ctx: GatewayContext, req: IncomingMessage): Promise<string> {
  let who: string | null = null;
  if (ctx.cookie.read(req.headers.cookie) !== null) {
    try {
      const auth = await ctx.authenticator.fromSessionId(ctx.cookie.read(req.headers.cookie)!);
      if (auth) who = auth.identity.displayName ? `${auth.identity.displayName} (${auth.identity.usercode})` : auth.identity.usercode;
    } catch {
      who = null;
    }
  }
  const base = ctx.config.basePath;
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
