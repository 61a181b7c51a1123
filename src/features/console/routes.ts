import type { Request, Response, Router } from 'express';
import type { Config } from '../../core/config/schema.js';
import type { Authenticator } from '../../core/sessions/authenticator.js';
import type { Feature } from '../../web/feature.js';
import { escapeHtml, toGatewayError } from '../../web/problem.js';
import { consoleScopes } from '../../web/admin-auth.js';
import { loadConsoleAssets, type ConsoleAssets } from './assets.js';
import { setConsoleHeaders } from './headers.js';

/**
 * The web console under `<basePath>/console/`: one HTML shell for every page (the browser's router draws the page
 * named by the path, so deep links and reloads work), and its script and style files. The shell is only served to a
 * signed-in user with a console role; the files hold no data and are public.
 */
export function createConsole(deps: ConsoleDeps): Feature {
  if (!deps.config.console.enabled) return {};
  return { routes: (router) => consoleRoutes(router, deps) };
}

/** What the console's pages use (built by the composition root); its API is the admin API's. */
export interface ConsoleDeps {
  config: Pick<Config, 'console' | 'basePath'>;
  authenticator: Pick<Authenticator, 'authenticate'>;
}

function consoleRoutes(router: Router, deps: ConsoleDeps): void {
  const base = deps.config.basePath;
  let assets: ConsoleAssets | null = null;
  const files = () => (assets ??= loadConsoleAssets());

  router.get('/console/assets/:version/:file', (req: Request, res: Response) => {
    const a = files();
    const file = a.get(String(req.params.file));
    setConsoleHeaders(res);
    if (!file) {
      res.status(404).type('text/plain').send('not found');
      return;
    }
    // The version in the path names the content: a current one may be kept for good, an old one is answered with
    // today's file but not cached.
    res.setHeader('Cache-Control', req.params.version === a.version ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.type(file.type).send(file.body);
  });

  const shell = async (req: Request, res: Response): Promise<void> => {
    setConsoleHeaders(res);
    res.setHeader('Cache-Control', 'no-store');
    // A refused credential (expired, suspended, a bad bearer token) signs in again; a failure below (the database)
    // is the app's error answer, and so an exception row, never a sign-in loop.
    const auth = await deps.authenticator.authenticate(req).catch((e: unknown) => {
      if (toGatewayError(e).status < 500) return null;
      throw e;
    });
    if (!auth || auth.via !== 'session') {
      res.redirect(302, `${base}/login?return_to=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    const v = files().version;
    const asset = (name: string) => escapeHtml(`${base}/console/assets/${v}/${name}`);
    if (consoleScopes(deps.config, auth.identity.roles).length === 0) {
      res
        .status(403)
        .type('html')
        .send(
          `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
            `<title>Not allowed — claimgate console</title><link rel="stylesheet" href="${asset('console.css')}"></head><body><main>` +
            `<h1>You are not allowed to use the console</h1><p>You are signed in as <strong>${escapeHtml(auth.identity.usercode)}</strong>, ` +
            `but none of your roles gives access to the claimgate console. Ask your platform team for one of its roles.</p>` +
            `<p><a href="${escapeHtml(`${base}/logout`)}">Sign out</a></p></main></body></html>`,
        );
      return;
    }
    res
      .type('html')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
          `<title>claimgate console</title><link rel="icon" href="data:,"><link rel="stylesheet" href="${asset('console.css')}">` +
          files().scripts.map((f) => `<link rel="modulepreload" href="${asset(f)}">`).join('') +
          `<script type="module" src="${asset('app.js')}"></script></head>` +
          `<body data-base="${escapeHtml(base)}"><a class="skip" href="#main">Skip to content</a>` +
          `<header class="top"><span class="brand">claimgate console</span><nav aria-label="Console"><ul id="nav"></ul></nav><span id="who"></span></header>` +
          `<main id="main" tabindex="-1"><h1>Loading…</h1></main></body></html>`,
      );
  };
  router.get('/console', shell);
  router.get('/console/*rest', shell);
}
