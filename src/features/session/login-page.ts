import type { Request, Response, Router } from 'express';
import type { Config } from '../../core/config/schema.js';
import { escapeHtml, htmlPage } from '../../web/problem.js';
import type { Feature } from '../../web/feature.js';
import { wrap } from '../../web/wrap.js';

/** Starts the redirect login at an OIDC issuer (the OIDC feature's `startLogin`). */
export type StartOidc = (req: Request, res: Response, issuerId: string) => Promise<void>;

/** What the login page uses. */
export interface LoginPageDeps {
  config: Pick<Config, 'issuers' | 'basePath'>;
  /** Given when the gateway has an OIDC feature: `/login` then starts the redirect login itself. */
  startOidc?: StartOidc;
}

/** `GET /login`. */
export function createLoginPage(deps: LoginPageDeps): Feature {
  return {
    routes(r: Router) {
      r.get('/login', wrap(loginPageHandler(deps)));
    },
  };
}

/**
 * `GET /claimgate/login`: where a browser without a session is sent. With `issuer` and an OIDC client
 * configured it starts the redirect login; without, it lists the issuers a user can sign in with, or
 * explains that sign-in happens through a link from the portal.
 */
function loginPageHandler(deps: LoginPageDeps) {
  const { startOidc } = deps;
  return async (req: Request, res: Response): Promise<void> => {
    const oidcIssuers = deps.config.issuers.filter((i) => i.oidc);
    const requested = typeof req.query.issuer === 'string' ? req.query.issuer : undefined;
    if (startOidc) {
      if (requested && oidcIssuers.some((i) => i.id === requested)) return startOidc(req, res, requested);
      if (!requested && oidcIssuers.length === 1) return startOidc(req, res, oidcIssuers[0]!.id);
    }
    const returnTo = typeof req.query.return_to === 'string' ? req.query.return_to : '/';
    const base = deps.config.basePath;
    const choices = oidcIssuers
      .map(
        (i) =>
          `<li><a href="${escapeHtml(`${base}/login?issuer=${encodeURIComponent(i.id)}&return_to=${encodeURIComponent(returnTo)}`)}">Sign in with ${escapeHtml(i.id)}</a></li>`,
      )
      .join('');
    const body = choices
      ? `<h1>Sign in</h1><ul>${choices}</ul>`
      : `<h1>Sign-in required</h1><p>Open the analytics application through the sign-in link of your portal. ` +
        `If you followed such a link and landed here, it may have expired: go back to the portal and open it again.</p>`;
    res.setHeader('Cache-Control', 'no-store');
    res.status(requested && !oidcIssuers.some((i) => i.id === requested) ? 404 : 200).type('html').send(htmlPage('Sign in', body));
  };
}
