import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createLogger, type Logger } from '../src/observability/logger.js';
import { parseConfigObject } from '../src/core/config/load.js';
import type { Config } from '../src/core/config/schema.js';
import { openDatabase, type Database } from '../src/store/db/index.js';
import { startServer, type RunningServer } from '../src/app/server.js';
import { startApp, DEFAULT_RETURN_TO, type DemoApp } from './app.js';
import { freePort } from './net.js';
import { PEOPLE, findPerson, type DemoPerson } from './people.js';
import { startProvider, type DemoProvider } from './provider.js';

/**
 * `npm run demo`: a local OpenID provider with two people, a demo analytics app, and the gateway in front of
 * it on the embedded database. Everything listens on 127.0.0.1 only.
 */

export interface DemoOptions {
  /** Default 8080; 0 picks a free port. */
  gatewayPort?: number;
  /** Default 4100; 0 picks a free port. */
  providerPort?: number;
  /** Default 9100; 0 picks a free port. */
  appPort?: number;
  /** PGlite data directory. Default ./.claimgate/demo-data */
  dataDir?: string;
  /** Keep the embedded database in memory (tests): nothing is written to dataDir. */
  inMemory?: boolean;
  /** Default: a JSON logger on stdout at `info`. */
  logger?: Logger;
}

export interface Demo {
  /** The gateway's publicUrl: what a person opens. */
  gatewayUrl: string;
  /** The OpenID provider's issuer URL. */
  providerUrl: string;
  /** The demo app, reached directly (without the gateway: no identity). */
  appUrl: string;
  /** The redirect login: the gateway's `/claimgate/login`, which sends the browser to the demo provider. */
  loginUrl: string;
  /** The gateway's effective configuration. */
  config: Config;
  /** A fresh single-use SSO link for `person` (a person id, e.g. "ada", or a person). */
  ssoLink(person: string | DemoPerson, returnTo?: string): Promise<string>;
  /** Stops the gateway, the app and the provider (and the in-memory database). */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const BASE_PATH = '/claimgate';
const CLIENT_ID = 'claimgate';
/** The audience SSO links are minted for; the ID tokens' aud is the client id, which is the same value. */
const AUDIENCE = 'claimgate';

export async function startDemo(opts: DemoOptions = {}): Promise<Demo> {
  const logger = opts.logger ?? createLogger({ level: 'info' });
  const stack: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    while (stack.length > 0) {
      const close = stack.pop()!;
      await close().catch((e: unknown) => logger.warn('demo: a part failed to stop', { error: String(e) }));
    }
  };

  try {
    // The gateway must know its publicUrl before it listens, so its port is settled first.
    const requestedGatewayPort = opts.gatewayPort ?? 8080;
    const gatewayPort = requestedGatewayPort === 0 ? await freePort(HOST) : requestedGatewayPort;
    const gatewayUrl = `http://${HOST}:${gatewayPort}`;
    const clientSecret = randomBytes(24).toString('base64url');

    const provider: DemoProvider = await startProvider({
      host: HOST,
      port: opts.providerPort ?? 4100,
      clientId: CLIENT_ID,
      clientSecret,
      redirectUri: `${gatewayUrl}${BASE_PATH}/callback`,
      // Where the gateway asks the provider to send the browser after ending its session (RP-initiated logout).
      postLogoutRedirectUri: `${gatewayUrl}${BASE_PATH}/signed-out`,
    });
    stack.push(() => provider.close());

    const ssoLink = async (person: string | DemoPerson, returnTo = DEFAULT_RETURN_TO): Promise<string> => {
      const p = typeof person === 'string' ? findPerson(person) : person;
      if (!p) throw new Error(`unknown demo person "${String(person)}" (known: ${PEOPLE.map((x) => x.id).join(', ')})`);
      const jwt = await provider.signSsoToken(p, AUDIENCE);
      return `${gatewayUrl}${BASE_PATH}/sso?jwt=${jwt}&return_to=${encodeURIComponent(returnTo).replace(/%2F/gi, '/')}`;
    };

    const app: DemoApp = await startApp({
      host: HOST,
      port: opts.appPort ?? 9100,
      gatewayUrl,
      basePath: BASE_PATH,
      mintLink: (id, returnTo) => ssoLink(id, returnTo),
    });
    stack.push(() => app.close());

    const config = demoConfig({
      gatewayUrl,
      gatewayPort,
      appUrl: app.url,
      issuer: provider.issuer,
      clientSecret,
      dataDir: resolve(opts.dataDir ?? './.claimgate/demo-data'),
    });

    let db: Database | undefined;
    if (opts.inMemory) {
      // The configuration has no in-memory switch (a real deployment never wants one); the gateway takes an
      // open database instead, which it then neither migrates nor closes.
      db = await openDatabase({ ...config.database, inMemory: true });
      const owned = db;
      stack.push(() => owned.close());
      await db.migrate();
    }
    const gateway: RunningServer = await startServer(config, { logger, db });
    stack.push(() => gateway.close());

    return {
      gatewayUrl,
      providerUrl: provider.issuer,
      appUrl: app.url,
      loginUrl: `${gatewayUrl}${BASE_PATH}/login?return_to=${encodeURIComponent(DEFAULT_RETURN_TO).replace(/%2F/gi, '/')}`,
      config,
      ssoLink,
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

interface DemoConfigInput {
  gatewayUrl: string;
  gatewayPort: number;
  appUrl: string;
  issuer: string;
  clientSecret: string;
  dataDir: string;
}

/**
 * The gateway configuration of the demo, written as a user would write claimgate.yaml, and read through the
 * same loader (so every default applies and it is validated like a file).
 */
export function demoConfig(c: DemoConfigInput): Config {
  const raw = {
    publicUrl: c.gatewayUrl,
    listen: { host: HOST, port: c.gatewayPort },
    basePath: BASE_PATH,
    // url '' explicitly: the embedded database even when DATABASE_URL is set in the shell.
    database: { url: '', dataDir: c.dataDir },
    // A fresh secret per run: sessions of an earlier run simply end.
    session: { secret: randomBytes(48).toString('base64') },
    upstream: { url: c.appUrl, mode: 'proxy' },
    issuers: [
      {
        id: 'demo',
        issuer: c.issuer,
        audiences: [AUDIENCE],
        discovery: true,
        algorithms: ['RS256'],
        // The printed links live 10 minutes (their exp); accept them that long instead of the default 120 s.
        ssoLink: { enabled: true, requireJti: true, maxTokenAgeSeconds: 600 },
        // The provider's issuer URL contains its port: a demo restarted on another DEMO_PROVIDER_PORT with the same
        // data directory brings the same people back under a new `iss`, which would otherwise be refused as
        // identity_conflict. A real deployment with several issuers keeps this false (docs/user-record.md, identity binding).
        linkExistingUsers: true,
        // The redirect login: GET /claimgate/login (or any protected page without a session) goes to the provider.
        oidc: { clientId: CLIENT_ID, clientSecret: c.clientSecret, scopes: ['openid', 'profile', 'email'] },
        mapping: 'demo',
      },
    ],
    mappings: {
      demo: {
        user: { usercode: 'preferred_username', email: 'email', displayName: 'name' },
        roles: [{ from: 'groups', map: { 'bi-admins': 'admin', 'bi-analysts': 'analyst', 'platform-team': 'platform' } }, { default: ['viewer'] }],
        permissions: [{ when: "contains(groups, 'finance')", add: ['finance_read'] }],
        attributes: { region: 'regions' },
      },
    },
    // The platform team changes mappings in the console; the app's admins may look.
    console: { enabled: true, readRoles: ['admin'], writeRoles: ['platform'] },
    routes: [
      { path: '/portal/*', public: true },
      { path: '/admin/*', anyRole: ['admin'] },
    ],
  };
  // An env without DATABASE_URL or PORT: the demo decides both (see demo/run.ts for the overrides).
  return parseConfigObject(raw, {});
}
