/**
 * The one place tests get keys and tokens from: real key pairs, tokens really signed with jose, and a real
 * JWKS / OpenID-configuration server that counts its fetches. No hand-written token strings anywhere.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EncryptJWT,
  SignJWT,
  UnsecuredJWT,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { issuerSchema, type IssuerConfig } from '../../src/core/config/schema.js';

/** Fixed test clock (seconds): tokens and the TrustMap's `now()` agree on it, whatever the wall clock says. */
export const NOW = 1_760_000_000;

export interface KeyPair {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Public JWK with kid, alg and use: sig. */
  publicJwk: JWK;
}

let kidCounter = 0;

/** A fresh asymmetric key pair for `alg` (RS256, ES256, EdDSA, PS256...). */
export async function makeKeyPair(alg = 'RS256', kid?: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const id = kid ?? `${alg.toLowerCase()}-${++kidCounter}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: id, alg, use: 'sig' };
  return { alg, kid: id, privateKey, publicKey, publicJwk };
}

export interface SignOptions {
  /** Signing key: a private key, a key pair, or raw HMAC bytes. */
  key: CryptoKey | KeyPair | Uint8Array;
  /** Default: the key pair's alg, else RS256. */
  alg?: string;
  /** Default: the key pair's kid; `null` leaves it out. */
  kid?: string | null;
  typ?: string;
  /** Extra protected header parameters (jku, jwk, crit...). */
  header?: Record<string, unknown>;
  /** Recognised `crit` extensions for signing (jose refuses to sign unknown ones otherwise). */
  crit?: Record<string, boolean>;
  /** Clock for the default iat/exp. Default {@link NOW}. */
  now?: number;
  /** Lifetime for the default exp. Default 300 s. */
  ttl?: number;
  noExp?: boolean;
  noIat?: boolean;
  noSub?: boolean;
}

/**
 * Signs `claims` as a compact JWS. Defaults: `iat` = now, `exp` = now + 300, `sub` = "user-1"; any of them in
 * `claims` wins, and `noExp` / `noIat` / `noSub` leave them out.
 */
export async function signToken(claims: JWTPayload, opts: SignOptions): Promise<string> {
  const pair = isKeyPair(opts.key) ? opts.key : undefined;
  const key = pair ? pair.privateKey : (opts.key as CryptoKey | Uint8Array);
  const alg = opts.alg ?? pair?.alg ?? 'RS256';
  const kid = opts.kid === null ? undefined : (opts.kid ?? pair?.kid);
  const now = opts.now ?? NOW;
  const payload: JWTPayload = { sub: 'user-1', iat: now, exp: now + (opts.ttl ?? 300), ...claims };
  if (opts.noExp) delete payload.exp;
  if (opts.noIat) delete payload.iat;
  if (opts.noSub) delete payload.sub;
  const header: JWTHeaderParameters = { alg, ...(opts.header ?? {}) };
  if (kid !== undefined) header.kid = kid;
  if (opts.typ !== undefined) header.typ = opts.typ;
  return new SignJWT(payload).setProtectedHeader(header).sign(key, opts.crit ? { crit: opts.crit } : undefined);
}

/** An unsigned (`alg: none`) JWT, as jose's UnsecuredJWT produces it. */
export function unsignedToken(claims: JWTPayload, now = NOW): string {
  return new UnsecuredJWT({ sub: 'user-1', iat: now, exp: now + 300, ...claims }).encode();
}

/** A real JWE (5 parts), encrypted to a fresh RSA-OAEP key. */
export async function encryptedToken(claims: JWTPayload, now = NOW): Promise<string> {
  const { publicKey } = await generateKeyPair('RSA-OAEP-256');
  return new EncryptJWT({ sub: 'user-1', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' })
    .encrypt(publicKey);
}

function isKeyPair(k: unknown): k is KeyPair {
  return typeof k === 'object' && k !== null && 'privateKey' in k && 'publicJwk' in k;
}

export interface JwksServer {
  /** http://127.0.0.1:PORT (also the default `issuer` of the discovery document). */
  url: string;
  jwksUri: string;
  /** Fetch counts per route. */
  readonly fetches: { jwks: number; discovery: number };
  /** Replaces the served keys (rotation). */
  setKeys(keys: JWK[]): void;
  /** Delays every answer by `ms` (0: none). */
  setDelay(ms: number): void;
  /** `true`: answer 503 to everything. */
  setDown(down: boolean): void;
  /** Overrides fields of the discovery document (e.g. a different `issuer`). */
  setDiscovery(doc: Record<string, unknown>): void;
  resetCounts(): void;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1, port 0, serving `/jwks` and `/.well-known/openid-configuration` (also under
 * `/<prefix>/.well-known/...` for issuers with a path). Counts fetches, rotates keys, can be slow or down.
 */
export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let served = keys;
  let delay = 0;
  let down = false;
  let discoveryOverride: Record<string, unknown> = {};
  const fetches = { jwks: 0, discovery: 0 };
  const timers = new Set<NodeJS.Timeout>();
  let base = '';

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    let reply: () => void;
    if (path === '/jwks') {
      fetches.jwks++;
      reply = () => (down ? answer(res, 503, { error: 'down' }) : answer(res, 200, { keys: served }));
    } else if (path.endsWith('/.well-known/openid-configuration')) {
      fetches.discovery++;
      const issuer = base + path.slice(0, -'/.well-known/openid-configuration'.length);
      reply = () =>
        down
          ? answer(res, 503, { error: 'down' })
          : answer(res, 200, { issuer, jwks_uri: `${base}/jwks`, ...discoveryOverride });
    } else {
      reply = () => answer(res, 404, { error: 'not found' });
    }
    if (delay <= 0) return reply();
    const t = setTimeout(() => {
      timers.delete(t);
      reply();
    }, delay);
    timers.add(t);
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    jwksUri: `${base}/jwks`,
    fetches,
    setKeys: (k) => (served = k),
    setDelay: (ms) => (delay = ms),
    setDown: (d) => (down = d),
    setDiscovery: (doc) => (discoveryOverride = doc),
    resetCounts: () => {
      fetches.jwks = 0;
      fetches.discovery = 0;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

/**
 * An `issuers[]` entry as the configuration loader would produce it (schema defaults applied). Defaults:
 * id "corp", issuer "https://idp.test", audiences ["claimgate"], algorithms ["RS256"], mapping "corp".
 */
export function issuerConfig(overrides: Record<string, unknown>): IssuerConfig {
  return issuerSchema.parse({
    id: 'corp',
    issuer: 'https://idp.test',
    audiences: ['claimgate'],
    algorithms: ['RS256'],
    mapping: 'corp',
    ...overrides,
  });
}
