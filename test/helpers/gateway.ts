/**
 * A whole gateway on port 0 in front of a real upstream that echoes what it received, with a real database
 * (PostgreSQL schema or in-memory PGlite) and a real issuer key. Used by the end-to-end HTTP tests.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { request } from 'undici';
import winston from 'winston';
import { parseConfigObject } from '../../src/core/config/load.js';
import type { Config } from '../../src/core/config/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import type { GatewayOptions } from '../../src/app/gateway.js';
import type { Database } from '../../src/store/db/index.js';
import { openSameDatabase, openTestDatabase, type TestDatabase } from './db.js';
import { makeKeyPair, signToken, type KeyPair } from './tokens.js';

export const ISS = 'https://idp.example.test';
export const SECRET = 's'.repeat(40);

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bytes: number;
}

/** The app behind the gateway: records every request and answers JSON describing it. */
export interface EchoApp {
  url: string;
  seen: Seen[];
  /** Per-path behaviour: delay before answering (ms). */
  delays: Map<string, number>;
  close(): Promise<void>;
}

export async function startEchoApp(): Promise<EchoApp> {
  const seen: Seen[] = [];
  const delays = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes };
      seen.push(entry);
      const answer = () => {
        if (req.url?.startsWith('/download/')) {
          const size = Number(req.url.split('/')[2]);
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
          const chunk = Buffer.alloc(64 * 1024, 7);
          let left = size;
          const pump = () => {
            while (left > 0) {
              const n = Math.min(left, chunk.length);
              left -= n;
              if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
            }
            res.end();
          };
          pump();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'x-app': 'echo' });
        res.end(JSON.stringify(entry));
      };
      const delay = delays.get((req.url ?? '').split('?')[0]!);
      if (delay) setTimeout(answer, delay);
      else answer();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    delays,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export const DEFAULT_MAPPING = {
  require: [{ expr: "email_verified != `false`", message: 'Your e-mail address is not verified' }],
  user: { usercode: 'preferred_username || sub', email: 'email', displayName: 'name' },
  roles: [
    { from: 'groups', map: { 'bi-admins': 'admin', 'bi-analysts': 'analyst' } },
    { default: ['viewer'] },
  ],
  permissions: [{ when: "contains(groups || `[]`, 'finance')", add: ['finance_read'] }],
  attributes: { region: 'regions' },
};

export interface TestGateway {
  url: string;
  config: Config;
  running: RunningServer;
  db: TestDatabase;
  app: EchoApp;
  key: KeyPair;
  /** Every log line the gateway wrote (JSON). */
  logs: string[];
  /** Signs a token of the trusted issuer (fresh jti, iat now, exp in 5 min unless overridden). */
  token(claims?: Record<string, unknown>, opts?: { ttl?: number; now?: number; noJti?: boolean }): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the gateway with `overrides` merged into a working configuration. `gatewayOptions` reach createGateway
 * (a fake clock for the jobs, `now`…); the jobs' schedule is disabled unless they ask for it.
 */
export async function startTestGateway(
  overrides: Record<string, unknown> = {},
  issuerOverrides: Record<string, unknown> = {},
  gatewayOptions: Partial<Omit<GatewayOptions, 'logger' | 'db'>> = {},
): Promise<TestGateway> {
  const app = await startEchoApp();
  const key = await makeKeyPair('RS256', 'k1');
  const db = await openTestDatabase();
  const raw = {
    publicUrl: 'http://gateway.test',
    listen: { host: '127.0.0.1', port: 0 },
    session: { secret: SECRET },
    upstream: { url: app.url, timeoutSeconds: 2 },
    issuers: [
      {
        id: 'corp',
        issuer: ISS,
        audiences: ['claimgate'],
        keys: [key.publicJwk],
        algorithms: ['RS256'],
        ssoLink: { enabled: true },
        mapping: 'corp',
        ...issuerOverrides,
      },
    ],
    mappings: { corp: DEFAULT_MAPPING },
    routes: [
      { path: '/assets/*', public: true },
      { path: '/admin/*', anyRole: ['admin'] },
    ],
    ...overrides,
  };
  // Every log line is kept, so tests can assert that no token, cookie or secret ever reaches one.
  const logs: string[] = [];
  let config: Config;
  let running: RunningServer;
  try {
    config = parseConfigObject(raw, {});
    const logger = createLogger({ level: 'debug' });
    logger.clear();
    logger.add(new winston.transports.Stream({ stream: new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }) }));
    running = await startServer(config, { jobs: { disabled: true }, ...gatewayOptions, logger, db });
  } catch (e) {
    // A test that expects the start to be refused must not leave the app and the database open (Jest would then
    // wait for them after the last test).
    await db.close();
    await app.close();
    throw e;
  }
  return {
    url: running.url,
    config,
    running,
    db,
    app,
    key,
    logs,
    token: (claims = {}, opts = {}) =>
      signToken(
        {
          iss: ISS,
          aud: 'claimgate',
          sub: 'u-ada',
          preferred_username: 'ada',
          email: 'ada@example.test',
          name: 'Ada Lovelace',
          groups: ['bi-admins'],
          ...(opts.noJti ? {} : { jti: randomUUID() }),
          ...claims,
        },
        { key, now: opts.now ?? Math.floor(Date.now() / 1000), ttl: opts.ttl ?? 300 },
      ),
    async close() {
      await running.close();
      await db.close();
      await app.close();
    },
  };
}

/** An HTTP call that never follows redirects and reads the body as text. */
export async function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer | NodeJS.ReadableStream } = {},
) {
  const res = await request(url, { method: (opts.method ?? 'GET') as 'GET', headers: opts.headers, body: opts.body as never });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as any };
}

/** The `name=value` part of a Set-Cookie header. */
export function cookieOf(setCookie: string | string[] | undefined): string {
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  if (!first) throw new Error('no Set-Cookie');
  return first.split(';')[0]!;
}

/** Another gateway instance: its own pool and listener on the same PostgreSQL schema, the same configuration. */
export interface OtherInstance {
  server: RunningServer;
  url: string;
  db: Database;
  close(): Promise<void>;
}

/** Starts another instance beside `first` (PostgreSQL only: see openSameDatabase). */
export async function startAnotherInstance(
  first: { db: TestDatabase; config: Config },
  options: Partial<Omit<GatewayOptions, 'logger' | 'db'>> = {},
): Promise<OtherInstance> {
  const db = await openSameDatabase(first.db);
  const config = parseConfigObject({ ...structuredClone(first.config), listen: { host: '127.0.0.1', port: 0 } }, {});
  const server = await startServer(config, { logger: createLogger({ silent: true }), db, ...options });
  return {
    server,
    url: server.url,
    db,
    async close() {
      await server.close();
      await db.close();
    },
  };
}
