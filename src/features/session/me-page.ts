import type { Session } from '../../core/sessions/session.js';
import type { UserRecord } from '../../store/users/index.js';
import { escapeHtml, htmlPage } from '../../web/problem.js';
import { signOutForm } from '../../web/page-nav.js';

/**
 * `/claimgate/me` for a person in a browser: who the gateway thinks they are, each role and permission with the
 * source that grants it, when the session ends, and a sign-out form. API callers keep the JSON answer.
 */
export function renderMePage(user: UserRecord, session: Session | undefined, basePath: string): string {
  const who = user.displayName ? `${user.displayName} (${user.usercode})` : user.usercode;
  const rows = (kind: string, grants: { name: string; source: string }[]) =>
    grants.length === 0
      ? `<tr><td colspan="3">No ${kind}s</td></tr>`
      : grants.map((g) => `<tr><td>${escapeHtml(kind)}</td><td>${escapeHtml(g.name)}</td><td>${escapeHtml(g.source)}</td></tr>`).join('');
  const expires = session ? new Date(Math.min(session.idleExpiresAt, session.absoluteExpiresAt)).toISOString() : null;
  const body = [
    `<h1>Signed in as ${escapeHtml(who)}</h1>`,
    '<dl>',
    `<dt>User</dt><dd>${escapeHtml(user.usercode)}</dd>`,
    user.email ? `<dt>E-mail</dt><dd>${escapeHtml(user.email)}</dd>` : '',
    `<dt>Session ends</dt><dd>${expires ? `<time datetime="${expires}">${expires}</time> at the latest (sooner when idle)` : 'no browser session (bearer token)'}</dd>`,
    '</dl>',
    '<table><caption>Roles and permissions, with the source that grants each</caption>',
    '<thead><tr><th scope="col">Kind</th><th scope="col">Name</th><th scope="col">Granted by</th></tr></thead><tbody>',
    rows('role', user.roles),
    rows('permission', user.permissions),
    '</tbody></table>',
    '<p><a href="/">Back to the application</a></p>',
    signOutForm(basePath),
  ].join('');
  return htmlPage(`Signed in as ${who}`, body);
}

/** A browser navigation (HTML wanted, JSON not named): fetch() and API clients keep getting JSON. */
export function prefersHtmlPage(accept: string | undefined): boolean {
  return typeof accept === 'string' && accept.includes('text/html') && !accept.includes('application/json');
}
