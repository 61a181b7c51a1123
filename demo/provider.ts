import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, calculateJwkThumbprint, type CryptoKey, type JWK } from 'jose';
import type Provider from 'oidc-provider';
import { PEOPLE, findPerson, personClaims, type DemoPerson } from './people.js';
import { closeServer, listen } from './net.js';
import { escapeHtml, page, readForm } from './html.js';

/**
 * The demo's local OpenID provider: `oidc-provider` with two people, a pick-a-person login page (no
 * password), one confidential client for the gateway, and an RS256 key generated at start. The same private
 * key signs the SSO-link JWTs, so the gateway verifies both kinds of token with the provider's published JWKS.
 */

export interface DemoProviderOptions {
  host: string;
  port: number;
  clientId: string;
  clientSecret: string;
  /** The gateway's OIDC callback (`<publicUrl>/claimgate/callback`). */
  redirectUri: string;
  /** Where the provider may send the browser after RP-initiated logout. */
  postLogoutRedirectUri: string;
}

export interface DemoProvider {
  /** The issuer (`iss`), also its base URL: http://127.0.0.1:PORT */
  issuer: string;
  port: number;
  /** An SSO-link JWT for a person, signed with the provider's key (single-use `jti`, 10 minutes). */
  signSsoToken(person: DemoPerson, audience: string): Promise<string>;
  close(): Promise<void>;
}

/** Warnings oidc-provider prints that are expected in this demo (and only here): they would just confuse. */
const EXPECTED_WARNINGS = [
  // oidc-provider 9 asks for Node 22 LTS; the demo runs fine on the project's Node 20.19+.
  'Unsupported runtime',
  // The demo keeps the provider's sessions and codes in memory on purpose.
  'in-memory adapter',
];

async function quietly<T>(fn: () => Promise<T> | T): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    const text = args.map(String).join(' ');
    if (!EXPECTED_WARNINGS.some((w) => text.includes(w))) warn(...args);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

export async function startProvider(opts: DemoProviderOptions): Promise<DemoProvider> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };

  let provider: Provider | undefined;
  let callback: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (!provider || !callback) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('starting');
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const m = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(path);
    if (m) {
      handleInteraction(provider, req, res).catch((e: unknown) => sendPage(res, 400, 'Sign-in failed', `<p>${escapeHtml(errorText(e))}</p>`));
      return;
    }
    callback(req, res);
  });
  const port = await listen(server, opts.port, opts.host);
  const issuer = `http://${opts.host}:${port}`;

  try {
    const { default: ProviderClass } = await quietly(() => import('oidc-provider'));
    provider = await quietly(
      () =>
        new ProviderClass(issuer, {
          clients: [
            {
              client_id: opts.clientId,
              client_secret: opts.clientSecret,
              redirect_uris: [opts.redirectUri],
              post_logout_redirect_uris: [opts.postLogoutRedirectUri],
              grant_types: ['authorization_code'],
              response_types: ['code'],
              token_endpoint_auth_method: 'client_secret_basic',
            },
          ],
          jwks: { keys: [privateJwk] },
          cookies: { keys: [randomBytes(32).toString('base64url')] },
          claims: {
            openid: ['sub'],
            profile: ['preferred_username', 'name', 'groups', 'regions'],
            email: ['email', 'email_verified'],
          },
          // Put the scope's claims in the ID token too (the gateway maps the ID token).
          conformIdTokenClaims: false,
          features: {
            devInteractions: { enabled: false },
            rpInitiatedLogout: {
              enabled: true,
              logoutSource: (ctx: { body: string }, form: string) => {
                ctx.body = page(
                  'Sign out',
                  `<h1>Sign out of the demo identity provider?</h1>${form}` +
                    '<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button> ' +
                    '<button type="submit" form="op.logoutForm">No, stay signed in</button>',
                );
              },
              postLogoutSuccessSource: (ctx: { body: string }) => {
                ctx.body = page('Signed out', '<h1>You are signed out of the demo identity provider</h1>');
              },
            },
          },
          // Lifetimes in seconds (set explicitly: the provider prints a notice for each default it uses).
          ttl: {
            AccessToken: 3600,
            AuthorizationCode: 60,
            IdToken: 3600,
            RefreshToken: 86400,
            Interaction: 600,
            Session: 28800,
            Grant: 28800,
          },
          interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
          findAccount: (_ctx: unknown, sub: string) => {
            const person = findPerson(sub);
            if (!person) return undefined;
            return { accountId: person.id, claims: () => ({ sub: person.id, ...personClaims(person) }) };
          },
          renderError: (ctx: { type: string; body: string }, out: Record<string, unknown>) => {
            ctx.type = 'html';
            ctx.body = page(
              'Sign-in error',
              `<h1>Sign-in error</h1>${Object.entries(out)
                .map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(v)}</p>`)
                .join('')}`,
            );
          },
        }),
    );
    callback = provider.callback();
  } catch (e) {
    await closeServer(server, 0);
    throw e;
  }

  return {
    issuer,
    port,
    signSsoToken: (person, audience) => signSsoToken(privateKey, kid, issuer, person, audience),
    close: () => closeServer(server),
  };
}

function signSsoToken(key: CryptoKey, kid: string, issuer: string, person: DemoPerson, audience: string): Promise<string> {
  return new SignJWT(personClaims(person))
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(person.id)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
}

/**
 * `/interaction/:uid`: GET shows the login page (pick a person) or, for the consent prompt, grants what the
 * gateway asked for without asking (it is the provider's only, first-party client); POST finishes the login.
 */
async function handleInteraction(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  res.setHeader('cache-control', 'no-store');

  if (req.method === 'POST') {
    const form = await readForm(req);
    if (form.get('action') === 'cancel') {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person cancelled the sign-in.' }, { mergeWithLastSubmission: false });
      return;
    }
    const person = findPerson(form.get('person') ?? '');
    if (prompt.name !== 'login' || !person) {
      sendPage(res, 400, 'Sign-in failed', '<p>Pick one of the demo people.</p>');
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: person.id } }, { mergeWithLastSubmission: false });
    return;
  }

  if (req.method !== 'GET') {
    sendPage(res, 405, 'Method not allowed', '<p>Use the form.</p>');
    return;
  }

  if (prompt.name === 'consent') {
    const accountId = details.session?.accountId;
    const clientId = String(params.client_id ?? '');
    if (!accountId) throw new Error('the interaction has no signed-in person');
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId });
    if (!grant) throw new Error('the grant of this interaction is gone; start again');
    const d = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  const client = escapeHtml(params.client_id ?? 'an application');
  const buttons = PEOPLE.map(
    (p) =>
      `<p><button type="submit" name="person" value="${escapeHtml(p.id)}">Continue as <strong>${escapeHtml(p.name)}</strong></button>` +
      ` <small>${escapeHtml(p.preferred_username)} &middot; groups: ${escapeHtml(p.groups.join(', '))} &middot; regions: ${escapeHtml(p.regions.join(', '))}</small></p>`,
  ).join('');
  sendPage(
    res,
    200,
    'Demo sign-in',
    `<h1>Demo identity provider</h1><p>${client} asks who you are. This is a demo: pick a person, no password.</p>` +
      `<form method="post" action="/interaction/${escapeHtml(uid)}">${buttons}` +
      `<p><button type="submit" name="action" value="cancel">Cancel</button></p></form>`,
  );
}

function sendPage(res: ServerResponse, status: number, title: string, body: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(page(title, body));
}

function errorText(e: unknown): string {
  if (e && typeof e === 'object' && 'error_description' in e) return String((e as { error_description: unknown }).error_description);
  return e instanceof Error ? e.message : String(e);
}
