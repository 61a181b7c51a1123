import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { PEOPLE, findPerson } from './people.js';
import { closeServer, listen } from './net.js';
import { escapeHtml, page, readForm } from './html.js';

/**
 * The demo analytics app: shows what the gateway told it about the user (the identity headers, decoded) and
 * checks that the signed assertion really comes from the gateway, the way a real app should before trusting
 * any header. `/portal` plays the company portal that hands out fresh single-use sign-in links.
 */

export interface DemoAppOptions {
  host: string;
  port: number;
  /** The gateway's publicUrl: the assertion's `iss`, and where its JWKS lives. */
  gatewayUrl: string;
  basePath: string;
  /** Mints a fresh SSO link for a person id (the portal's buttons). */
  mintLink(personId: string, returnTo: string): Promise<string>;
}

export interface DemoApp {
  /** http://127.0.0.1:PORT: the gateway's upstream.url and the assertion's `aud`, exactly. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export const DEFAULT_RETURN_TO = '/dashboards/42';

export async function startApp(opts: DemoAppOptions): Promise<DemoApp> {
  let appUrl = '';
  const jwks = createRemoteJWKSet(new URL(`${opts.gatewayUrl}${opts.basePath}/jwks.json`), { cooldownDuration: 5000 });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://app.invalid');
    const path = url.pathname;
    if (path === '/portal' || path === '/portal/') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed', '<p>GET only.</p>');
      return send(res, 200, 'Demo portal', portalPage(opts.basePath));
    }
    if (path === '/portal/launch') {
      if (req.method !== 'POST') return send(res, 405, 'Method not allowed', '<p>Use the portal buttons.</p>');
      const form = await readForm(req);
      const person = findPerson(form.get('person') ?? '');
      if (!person) return send(res, 400, 'Unknown person', '<p>Pick one of the demo people on the <a href="/portal">portal</a>.</p>');
      const returnTo = form.get('return_to') || DEFAULT_RETURN_TO;
      const link = await opts.mintLink(person.id, returnTo.startsWith('/') && !returnTo.startsWith('//') ? returnTo : DEFAULT_RETURN_TO);
      res.writeHead(303, { location: link, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
      res.end();
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    const body = await identityPage(req, path, { jwks, issuer: opts.gatewayUrl, audience: appUrl, basePath: opts.basePath });
    send(res, 200, 'Demo analytics', body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, 'Demo app error', `<p>${escapeHtml(e instanceof Error ? e.message : String(e))}</p>`);
      else res.destroy();
    });
  });
  const port = await listen(server, opts.port, opts.host);
  appUrl = `http://${opts.host}:${port}`;
  return { url: appUrl, port, close: () => closeServer(server) };
}

function send(res: ServerResponse, status: number, title: string, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(page(title, body));
}

function portalPage(basePath: string): string {
  const login = `${basePath}/login?return_to=${encodeURIComponent(DEFAULT_RETURN_TO)}`;
  const forms = PEOPLE.map(
    (p) =>
      `<form method="post" action="/portal/launch"><input type="hidden" name="person" value="${escapeHtml(p.id)}">` +
      `<input type="hidden" name="return_to" value="${escapeHtml(DEFAULT_RETURN_TO)}">` +
      `<button type="submit">Open analytics as <strong>${escapeHtml(p.name)}</strong></button> ` +
      `<small>groups: ${escapeHtml(p.groups.join(', '))} &middot; regions: ${escapeHtml(p.regions.join(', '))}</small></form>`,
  ).join('');
  return (
    `<h1>Demo portal</h1><p>Each button mints a fresh single-use sign-in link (a JWT signed by the demo identity ` +
    `provider) and sends you through <code>/claimgate/sso</code> to <code>${escapeHtml(DEFAULT_RETURN_TO)}</code>.</p>${forms}` +
    `<p>Or <a href="${escapeHtml(login)}">sign in at the demo identity provider</a> (the OpenID Connect redirect login).</p>`
  );
}

const HEADERS = [
  { name: 'X-Claimgate-User', decode: true },
  { name: 'X-Claimgate-User-Id', decode: true },
  { name: 'X-Claimgate-Email', decode: true },
  { name: 'X-Claimgate-Name', decode: true },
  { name: 'X-Claimgate-Roles', list: true },
  { name: 'X-Claimgate-Permissions', list: true },
] as const;

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

function decode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

async function identityPage(
  req: IncomingMessage,
  path: string,
  v: { jwks: ReturnType<typeof createRemoteJWKSet>; issuer: string; audience: string; basePath: string },
): Promise<string> {
  const rows = HEADERS.map((h) => {
    const raw = header(req, h.name);
    const shown =
      raw === undefined
        ? '<em>(not sent)</em>'
        : 'list' in h
          ? escapeHtml(raw === '' ? '(none)' : raw.split(',').map(decode).join(', '))
          : escapeHtml(decode(raw));
    return `<tr><th>${escapeHtml(h.name)}</th><td>${shown}</td><td><code>${escapeHtml(raw ?? '')}</code></td></tr>`;
  }).join('');

  const assertion = header(req, 'X-Claimgate-Assertion');
  let verdict: string;
  if (!assertion) {
    verdict =
      '<p class="bad">No X-Claimgate-Assertion: this request did not come through the gateway with a signed-in user ' +
      '(a public route, or the app was opened directly).</p>';
  } else {
    try {
      const { payload, protectedHeader } = await jwtVerify(assertion, v.jwks, {
        issuer: v.issuer,
        audience: v.audience,
        algorithms: ['ES256'],
        typ: 'claimgate-assertion+jwt',
      });
      verdict =
        `<p class="ok">assertion verified</p><p>Signed by the gateway (kid <code>${escapeHtml(protectedHeader.kid ?? '')}</code>), ` +
        `iss <code>${escapeHtml(v.issuer)}</code>, aud <code>${escapeHtml(v.audience)}</code>.</p>` +
        `${claimsTable(payload)}<details><summary>Assertion claims (JSON)</summary><pre>${escapeHtml(JSON.stringify(payload, null, 2))}</pre></details>`;
    } catch (e) {
      verdict = `<p class="bad">assertion NOT verified: ${escapeHtml(e instanceof Error ? e.message : String(e))}</p>`;
    }
  }

  const base = v.basePath;
  const title = path.startsWith('/admin') ? 'Admin area (role admin only)' : `Analytics: ${path}`;
  return (
    `<h1>${escapeHtml(title)}</h1>` +
    `<nav><a href="/dashboards/42">Dashboard 42</a><a href="/admin/settings">Admin (admin only)</a>` +
    `<a href="${escapeHtml(base)}/me">${escapeHtml(base)}/me</a><a href="/portal">Portal</a></nav>` +
    `<h2>Identity headers received</h2><table><tr><th>header</th><th>decoded</th><th>as sent</th></tr>${rows}</table>` +
    `<h2>Signed assertion</h2>${verdict}` +
    `<form method="post" action="${escapeHtml(base)}/logout"><input type="hidden" name="return_to" value="/portal">` +
    `<button type="submit">Sign out</button></form>`
  );
}

function claimsTable(p: JWTPayload): string {
  const attrs = (p.attributes ?? {}) as Record<string, unknown>;
  const row = (k: string, val: unknown) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(Array.isArray(val) ? val.join(', ') : (val ?? ''))}</td></tr>`;
  return (
    '<table>' +
    row('usercode', p.usercode) +
    row('name', p.name) +
    row('email', p.email) +
    row('roles', p.roles) +
    row('permissions', p.permissions) +
    Object.entries(attrs)
      .map(([k, val]) => row(`attribute ${k}`, val))
      .join('') +
    row('sub (user id)', p.sub) +
    row('expires', typeof p.exp === 'number' ? new Date(p.exp * 1000).toISOString() : '') +
    '</table>'
  );
}
