import * as oidc from 'openid-client';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import type { IssuerConfig } from '../../core/config/schema.js';
import { isLoopback } from '../../core/config/validate.js';
import { GatewayError } from '../../core/errors/errors.js';
import { providerFailure } from './errors.js';

/** Tuning of {@link OidcClients}; every field has a default fit for production. */
export interface OidcClientsOptions {
  /** Where the provider sends the browser back: `<publicUrl><basePath>/callback` (registered at the IdP). */
  redirectUri: string;
  /** Timeout of every request to the provider (discovery, token, userinfo), in ms. Default: the issuer's `jwks.timeoutMs`. */
  timeoutMs?: number;
  /** After a failed discovery, later logins fail fast for this long instead of each waiting for the timeout. Default 10 s. */
  failureCooldownMs?: number;
  /** Discovery metadata is refetched after this long (keys and endpoints may move). Default 1 h. */
  maxAgeMs?: number;
  now?: () => number;
  /** Fetch for every request to the provider (the egress proxy). Default: the global fetch. */
  fetch?: typeof fetch;
}

interface Entry {
  config?: oidc.Configuration;
  fetchedAt: number;
  pending?: Promise<oidc.Configuration>;
  failedAt: number;
  lastError?: unknown;
}

/**
 * The OpenID Connect client of every issuer with an `oidc` block: discovery (the provider's metadata, whose
 * `issuer` openid-client checks to be exactly the configured one), client authentication, timeouts. One
 * discovery per issuer is shared by concurrent logins; a failed one is not retried before the cooldown, so a
 * provider outage costs it one request per cooldown and users an immediate, clear error page.
 */
export class OidcClients {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly issuers: readonly IssuerConfig[],
    private readonly opts: OidcClientsOptions,
  ) {}

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  /** The issuer's configuration (with an `oidc` block), or a 404 `issuer_unknown`. */
  issuer(id: string): IssuerConfig & { oidc: NonNullable<IssuerConfig['oidc']> } {
    const issuer = this.issuers.find((i) => i.id === id);
    if (!issuer?.oidc) throw new GatewayError('issuer_unknown', 'There is no sign-in with this issuer.', { status: 404 });
    return issuer as IssuerConfig & { oidc: NonNullable<IssuerConfig['oidc']> };
  }

  /** Issuers that offer the redirect login, in configuration order. */
  get oidcIssuers(): IssuerConfig[] {
    return this.issuers.filter((i) => i.oidc);
  }

  timeoutMs(issuer: IssuerConfig): number {
    return this.opts.timeoutMs ?? issuer.jwks.timeoutMs;
  }

  /** The client configuration for an issuer, discovering it on first use. Throws 502/504 when the provider fails. */
  async get(issuerId: string): Promise<oidc.Configuration> {
    const issuer = this.issuer(issuerId);
    let entry = this.entries.get(issuerId);
    if (!entry) {
      entry = { fetchedAt: 0, failedAt: Number.NEGATIVE_INFINITY };
      this.entries.set(issuerId, entry);
    }
    const now = this.now();
    if (entry.config && now - entry.fetchedAt < (this.opts.maxAgeMs ?? 3_600_000)) return entry.config;
    if (entry.pending) return entry.pending;
    if (now - entry.failedAt < (this.opts.failureCooldownMs ?? 10_000)) {
      // A stale configuration beats none while the provider is unreachable.
      if (entry.config) return entry.config;
      throw providerFailure(entry.lastError, 'discovery');
    }
    const e = entry;
    e.pending = this.discover(issuer)
      .then((config) => {
        e.config = config;
        e.fetchedAt = this.now();
        return config;
      })
      .catch((err: unknown) => {
        e.failedAt = this.now();
        e.lastError = err;
        if (e.config) return e.config;
        throw providerFailure(err, 'discovery');
      })
      .finally(() => {
        e.pending = undefined;
      });
    return e.pending;
  }

  /** Forgets a discovered configuration (tests; operators after re-registering a client). */
  reset(issuerId?: string): void {
    if (issuerId === undefined) this.entries.clear();
    else this.entries.delete(issuerId);
  }

  private async discover(issuer: IssuerConfig & { oidc: NonNullable<IssuerConfig['oidc']> }): Promise<oidc.Configuration> {
    const o = issuer.oidc;
    const server = new URL(issuer.issuer);
    const insecure = server.protocol === 'http:' && (isLoopback(server.hostname) || issuer.allowInsecureHttp);
    const metadata: Partial<oidc.ClientMetadata> = { redirect_uris: [this.opts.redirectUri] };
    if (o.clientSecret !== undefined) metadata.client_secret = o.clientSecret;
    const timeout = Math.max(1, Math.ceil(this.timeoutMs(issuer) / 1000));
    const config = await oidc.discovery(server, o.clientId, metadata, await clientAuth(issuer), {
      timeout,
      execute: insecure ? [oidc.allowInsecureRequests] : [],
      ...(this.opts.fetch ? { [oidc.customFetch]: this.opts.fetch as oidc.CustomFetch } : {}),
    });
    // The token, userinfo and refresh requests made with this configuration go the same way.
    if (this.opts.fetch) config[oidc.customFetch] = this.opts.fetch as oidc.CustomFetch;
    // Seconds, for the token and userinfo requests made with this configuration.
    config.timeout = timeout;
    return config;
  }
}

/** Client authentication at the token endpoint, as configured (`authMethod`). */
async function clientAuth(issuer: IssuerConfig & { oidc: NonNullable<IssuerConfig['oidc']> }): Promise<oidc.ClientAuth> {
  const o = issuer.oidc;
  switch (o.authMethod) {
    case 'client_secret_basic':
      return oidc.ClientSecretBasic(o.clientSecret);
    case 'client_secret_post':
      return oidc.ClientSecretPost(o.clientSecret);
    case 'none':
      return oidc.None();
    case 'private_key_jwt': {
      const jwk = o.privateKey as JWK;
      const alg = typeof jwk.alg === 'string' ? jwk.alg : jwk.kty === 'EC' ? 'ES256' : jwk.kty === 'OKP' ? 'EdDSA' : 'RS256';
      const key = (await importJWK({ ...jwk, alg }, alg)) as CryptoKey;
      return oidc.PrivateKeyJwt(typeof jwk.kid === 'string' ? { key, kid: jwk.kid } : key);
    }
  }
}
