import {
  errors,
  jwtVerify,
  type JWSAlgorithm,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import { HMAC_ALGORITHMS, type IssuerConfig } from '../config/schema.js';
import { GatewayError, TokenError } from '../errors/errors.js';
import { keySourceFor, type VerificationKey } from './key-sources.js';
import { malformed, toTokenError } from './token-errors.js';
import { decodeHeader, decodePayload } from './token-shape.js';
import { hashToken, VerifyCache } from './verify-cache.js';
import { noteRefusal } from '../../observability/refusal-log.js';

/**
 * What a token is presented for. `sso` applies the tighter of the issuer's `maxTokenAgeSeconds` and
 * `ssoLink.maxTokenAgeSeconds`; `bearer` results are cached by token hash; `oidc` is an ID token from the
 * code flow (nonce and the like are the caller's to check).
 */
export type TokenPurpose = 'sso' | 'bearer' | 'oidc';

/** Options of {@link TrustMap.verify}. */
export interface VerifyOptions {
  purpose?: TokenPurpose;
  /** Require the token to come from this issuer id (e.g. an OIDC callback for a given issuer). */
  issuerId?: string;
}

/** A token that passed every check. Claims and header are deep-frozen (a cached result is shared). */
export interface VerifiedToken {
  issuer: IssuerConfig;
  claims: JWTPayload;
  header: JWTHeaderParameters;
  /** SHA-256 of the token (base64url): safe to log or store where the token itself never may be. */
  tokenHash: string;
}

/** Construction options of {@link TrustMap}. */
export interface TrustMapOptions {
  /**
   * The gateway's own public URL. An issuer equal to it is refused at construction: the gateway never trusts
   * tokens it would issue itself (its assertions and access tokens have their own verifiers).
   */
  publicUrl?: string;
  /** Clock in seconds since the epoch (tests pass a fake one). Default: the system clock. */
  now?: () => number;
  /** Largest accepted token in bytes (`limits.tokenBytes`); larger is refused before any parsing. Default 16384. */
  maxTokenBytes?: number;
  /** Entries of the bearer verify cache. Default 10000; 0 disables it. */
  verifyCacheMaxEntries?: number;
  /** Fetch used for key sets and discovery (the egress proxy). Default: the global fetch. */
  fetch?: typeof fetch;
}

/** Counters for metrics and tests. */
export interface TrustMapStats {
  /** Tokens that reached signature verification (each costs a crypto operation). */
  signatureVerifications: number;
  /** Bearer verifications answered from the cache. */
  cacheHits: number;
}

/** Runtime form of one issuer: everything derivable from its configuration is computed once. */
interface IssuerEntry {
  config: IssuerConfig;
  algorithms: ReadonlySet<string>;
  key: VerificationKey;
  /** jwtVerify options without currentDate, for the default/bearer/oidc purposes and for sso. */
  options: JWTVerifyOptions;
  ssoOptions: JWTVerifyOptions;
}

const HMAC = new Set<string>(HMAC_ALGORITHMS);

/**
 * The gateway's trust map: exact `iss` → the issuer's keys, algorithm allowlist, audiences and time rules.
 * `verify(token)` answers a {@link VerifiedToken} or throws a {@link TokenError} with a stable public code (docs/errors.md).
 * No Express here; the HTTP layer passes the token in.
 */
export class TrustMap {
  /** Counters (monotonic). */
  readonly stats: TrustMapStats = { signatureVerifications: 0, cacheHits: 0 };
  private readonly byIss = new Map<string, IssuerEntry>();
  /** Issuers whose `iss` contains `{tenantid}` (Entra multi-tenant), tried when no exact `iss` matches. */
  private readonly templates: IssuerEntry[] = [];
  private readonly byId = new Map<string, IssuerEntry>();
  private readonly cache: VerifyCache<VerifiedToken>;
  private readonly now: () => number;
  private readonly maxTokenBytes: number;

  /** @throws GatewayError `issuer_config_invalid` for a configuration the trust map must not run with. */
  constructor(issuers: readonly IssuerConfig[], options: TrustMapOptions = {}) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.maxTokenBytes = options.maxTokenBytes ?? 16384;
    this.cache = new VerifyCache({ maxEntries: options.verifyCacheMaxEntries });
    for (const issuer of issuers) {
      checkIssuer(issuer, options.publicUrl);
      if (this.byIss.has(issuer.issuer)) invalid(`issuer "${issuer.issuer}" is configured twice`);
      if (this.byId.has(issuer.id)) invalid(`issuer id "${issuer.id}" is configured twice`);
      const entry = buildEntry(issuer, options.fetch);
      this.byIss.set(issuer.issuer, entry);
      if (issuer.issuer.includes(TENANT_PLACEHOLDER)) this.templates.push(entry);
      this.byId.set(issuer.id, entry);
    }
  }

  /** The configured issuers, in configuration order. */
  get issuers(): IssuerConfig[] {
    return [...this.byId.values()].map((e) => e.config);
  }

  /** The issuer configured under `id`, if any. */
  issuer(id: string): IssuerConfig | undefined {
    return this.byId.get(id)?.config;
  }

  /** Empties the bearer verify cache (see {@link VerifyCache} for why key changes need not). */
  clearCache(): void {
    this.cache.clear();
  }

  /** Drops the cached bearer verification of one token (by its hash), e.g. once it was used as a sign-in link. */
  forget(tokenHash: string): void {
    this.cache.delete(tokenHash);
  }

  /**
   * Verifies a compact JWS from a trusted issuer. Checks, in order: size, shape (three parts; JWE refused),
   * header (`alg` not `none`, no `jku`/`x5u`/`jwk`/`x5c`, no `crit`, not a logout token), `iss` known (and equal
   * to `issuerId` when given), `alg` in that issuer's allowlist, `exp` and `sub` present, then jose's jwtVerify
   * (signature, `iss`, `aud` any-match, `exp`/`nbf` with clock tolerance, `maxTokenAge`), then `iat` not in the
   * future.
   *
   * @throws TokenError with the public code; `jwks_unavailable` (503) when the issuer's keys cannot be fetched.
   */
  async verify(token: string, opts: VerifyOptions = {}): Promise<VerifiedToken> {
    if (typeof token !== 'string' || token.length === 0) throw malformed('No token was given.');
    // Checked before hashing or parsing anything, so an oversized token costs nothing.
    if (token.length > this.maxTokenBytes) {
      throw malformed(`The token is too large (more than ${this.maxTokenBytes} bytes).`);
    }
    const now = this.now();
    const tokenHash = hashToken(token);
    const cacheable = opts.purpose === 'bearer';
    if (cacheable) {
      const hit = this.cache.get(tokenHash, now);
      if (hit !== undefined && (opts.issuerId === undefined || hit.issuer.id === opts.issuerId)) {
        this.stats.cacheHits++;
        return hit;
      }
    }

    const header = decodeHeader(token);
    const payload = decodePayload(token);
    let entry: IssuerEntry | undefined;
    try {
      entry = this.entryFor(payload, opts.issuerId);
      if (!entry.algorithms.has(header.alg as string)) {
        // Also what stops an HS256 token "signed" with an RSA issuer's public key: HS* is never in its list.
        throw new TokenError('algorithm_not_allowed', 'The token signing algorithm is not allowed for this issuer.');
      }
      if (payload.exp === undefined) throw malformed('The token has no "exp" claim; tokens without an expiry are refused.');
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw malformed('The token has no "sub" claim.');

      const base = opts.purpose === 'sso' ? entry.ssoOptions : entry.options;
      const verifyOptions: JWTVerifyOptions = { ...base, currentDate: new Date(now * 1000) };
      // A tenant template was matched in entryFor against this very `iss`; jose checks it again, exactly.
      if (entry.config.issuer.includes(TENANT_PLACEHOLDER)) verifyOptions.issuer = payload.iss as string;
      // `azp` may stand in for `aud`: jose's own audience check is replaced by the any-match below.
      if (entry.config.acceptAzpAsAudience) delete verifyOptions.audience;
      const { payload: claims, protectedHeader } = await this.checkSignature(token, entry.key, verifyOptions);
      if (entry.config.acceptAzpAsAudience) checkAudienceOrAzp(claims, entry.config.audiences);
      checkProviderClaims(entry.config, claims);

      // jose checks `iat` only together with maxTokenAge; a token issued in the future is refused always.
      const tolerance = entry.config.clockToleranceSeconds;
      if (typeof claims.iat === 'number' && claims.iat > now + tolerance) {
        throw new TokenError('token_not_yet_valid', 'The token was issued in the future.');
      }

      const verified: VerifiedToken = {
        issuer: entry.config,
        claims: deepFreeze(claims),
        header: deepFreeze(protectedHeader),
        tokenHash,
      };
      if (cacheable) {
        const until = cacheUntil(claims, entry.config.maxTokenAgeSeconds);
        if (until > now) this.cache.set(tokenHash, verified, until);
      }
      return verified;
    } catch (e) {
      throw this.explain(e, payload, entry);
    }
  }

  /** Records, for the server log and the CLI only, the token's value that decided a refusal. */
  private explain(e: unknown, payload: JWTPayload, entry: IssuerEntry | undefined): unknown {
    if (!(e instanceof TokenError)) return e;
    if (entry) noteRefusal(e, { issuer: entry.config.id });
    if (e.code === 'issuer_unknown') {
      noteRefusal(e, { tokenIss: typeof payload.iss === 'string' ? payload.iss : String(payload.iss), configuredIssuers: [...this.byIss.keys()] });
    } else if (e.code === 'audience_mismatch' && entry) {
      const aud = payload.aud;
      noteRefusal(e, { tokenAud: typeof aud === 'string' || Array.isArray(aud) ? aud : String(aud), configuredAudiences: entry.config.audiences });
    }
    return e;
  }

  private entryFor(payload: JWTPayload, issuerId: string | undefined): IssuerEntry {
    if (typeof payload.iss !== 'string' || payload.iss.length === 0) throw malformed('The token has no "iss" claim.');
    const exact = this.byIss.get(payload.iss);
    // A template is never an `iss` itself: a token claiming the literal "{tenantid}" issuer matches nothing.
    const entry = exact !== undefined && !exact.config.issuer.includes(TENANT_PLACEHOLDER) ? exact : this.templateFor(payload);
    if (entry === undefined) throw new TokenError('issuer_unknown', 'The token issuer is not trusted.');
    if (issuerId !== undefined && entry.config.id !== issuerId) {
      throw new TokenError('issuer_unknown', 'The token was not issued by the expected issuer.');
    }
    return entry;
  }

  /**
   * The template issuer this token's `iss` is an instance of: its `tid` must be a listed tenant and `iss` must be
   * the template with exactly that `tid` put in (nothing else varies).
   */
  private templateFor(payload: JWTPayload): IssuerEntry | undefined {
    const tid = typeof payload.tid === 'string' ? payload.tid.toLowerCase() : undefined;
    if (tid === undefined || !GUID.test(tid)) return undefined;
    return this.templates.find(
      (e) => tenantsOf(e.config).has(tid) && e.config.issuer.split(TENANT_PLACEHOLDER).join(tid) === payload.iss,
    );
  }

  private async checkSignature(token: string, key: VerificationKey, options: JWTVerifyOptions) {
    this.stats.signatureVerifications++;
    try {
      return await jwtVerify(token, key, options);
    } catch (e) {
      // A key set with several keys matching the header (no `kid`): try each, as jose documents.
      if (e instanceof errors.JWKSMultipleMatchingKeys) {
        for await (const candidate of e) {
          try {
            return await jwtVerify(token, candidate, options);
          } catch (inner) {
            if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw toTokenError(inner);
          }
        }
      }
      throw toTokenError(e);
    }
  }
}

/** Refuses configurations the trust map must never run with, even if config validation was bypassed. */
function checkIssuer(issuer: IssuerConfig, publicUrl: string | undefined): void {
  const where = `issuer "${issuer.id}"`;
  if (publicUrl !== undefined && normalizeUrl(issuer.issuer) === normalizeUrl(publicUrl)) {
    invalid(`${where} is the gateway's own publicUrl; the gateway never trusts tokens it would issue itself`);
  }
  const sources = [issuer.jwksUri, issuer.discovery === true ? true : undefined, issuer.keys, issuer.sharedSecret];
  if (sources.filter((s) => s !== undefined).length !== 1) {
    invalid(`${where} must have exactly one of jwksUri, discovery, keys or sharedSecret`);
  }
  if (issuer.algorithms.length === 0) invalid(`${where} has no algorithms`);
  const hs = issuer.algorithms.filter((a) => HMAC.has(a)).length;
  if (hs > 0 && hs < issuer.algorithms.length) invalid(`${where} mixes HS* with asymmetric algorithms`);
  if (issuer.sharedSecret !== undefined) {
    if (hs === 0) invalid(`${where} has a sharedSecret but no HS* algorithm`);
    if (Buffer.byteLength(issuer.sharedSecret, 'utf8') < 32) invalid(`${where} sharedSecret is shorter than 32 bytes`);
  } else if (hs > 0) {
    invalid(`${where} lists HS* algorithms without a sharedSecret`);
  }
  issuer.keys?.forEach((k, i) => {
    if ('d' in k || 'k' in k) invalid(`${where} keys[${i}] contains private or symmetric key material`);
  });
  if (issuer.audiences.length === 0) invalid(`${where} has no audiences`);
}

const TENANT_PLACEHOLDER = '{tenantid}';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function tenantsOf(issuer: IssuerConfig): Set<string> {
  return new Set((issuer.entra?.tenants ?? []).map((t) => t.toLowerCase()));
}

/** `aud` any-match, or else `azp` listed in `audiences` (`acceptAzpAsAudience`). */
function checkAudienceOrAzp(claims: JWTPayload, audiences: readonly string[]): void {
  const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (aud.some((a) => audiences.includes(a))) return;
  if (typeof claims.azp === 'string' && audiences.includes(claims.azp)) return;
  throw new TokenError('audience_mismatch', 'The token is not meant for this gateway (aud).');
}

/** Checks a provider needs beyond the standard ones: the Entra tenant list and Google's hosted domain. */
function checkProviderClaims(issuer: IssuerConfig, claims: JWTPayload): void {
  const tenants = tenantsOf(issuer);
  if (tenants.size > 0) {
    const tid = typeof claims.tid === 'string' ? claims.tid.toLowerCase() : '';
    if (!tenants.has(tid)) throw new TokenError('tenant_not_allowed', 'The token comes from a tenant that is not allowed here.');
  }
  const domains = issuer.google?.hostedDomains ?? [];
  if (domains.length > 0) {
    const hd = typeof claims.hd === 'string' ? claims.hd.toLowerCase() : '';
    if (!domains.some((d) => d.toLowerCase() === hd)) {
      throw new TokenError('hosted_domain_not_allowed', 'The account does not belong to an allowed Google Workspace domain.');
    }
  }
}

function buildEntry(issuer: IssuerConfig, fetchImpl?: typeof fetch): IssuerEntry {
  const options: JWTVerifyOptions = {
    algorithms: issuer.algorithms as JWSAlgorithm[],
    issuer: issuer.issuer,
    audience: issuer.audiences,
    requiredClaims: ['exp', 'sub'],
    clockTolerance: issuer.clockToleranceSeconds,
  };
  if (issuer.maxTokenAgeSeconds !== undefined) options.maxTokenAge = issuer.maxTokenAgeSeconds;
  const ssoAge = Math.min(issuer.maxTokenAgeSeconds ?? Infinity, issuer.ssoLink.maxTokenAgeSeconds);
  let key: VerificationKey;
  try {
    key = keySourceFor(issuer, fetchImpl);
  } catch (e) {
    invalid(`issuer "${issuer.id}" has unusable keys`, e);
  }
  return {
    config: issuer,
    algorithms: new Set(issuer.algorithms),
    key,
    options,
    // maxTokenAge makes jose require `iat`: a link without one is refused.
    ssoOptions: { ...options, maxTokenAge: ssoAge },
  };
}

/** Until when a verified bearer token may be answered from the cache: min(exp, iat + maxTokenAge), no tolerance. */
function cacheUntil(claims: JWTPayload, maxTokenAge: number | undefined): number {
  let until = typeof claims.exp === 'number' ? claims.exp : 0;
  if (maxTokenAge !== undefined) until = Math.min(until, typeof claims.iat === 'number' ? claims.iat + maxTokenAge : 0);
  return until;
}

function normalizeUrl(u: string): string {
  try {
    return new URL(u).href.replace(/\/+$/, '');
  } catch {
    return u.replace(/\/+$/, '');
  }
}

function invalid(message: string, cause?: unknown): never {
  throw new GatewayError('issuer_config_invalid', message, { cause });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
