import { randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, importJWK, type JWK, type CryptoKey } from 'jose';
import type { Config } from '../../core/config/schema.js';
import type { GatewayContext } from '../../app/gateway-context.js';
import { GatewayError } from '../../core/errors/errors.js';
import { compileExpression, evaluateExpression, type CompiledExpression } from '../../core/mapping/jmespath-engine.js';
import type { Claims } from '../../core/mapping/types.js';
import type { UserRecord } from '../../store/users/index.js';
import type { Identity } from '../../core/identity/identity.js';
import { dict } from '../../core/own-keys.js';

/** `typ` of the hand-off token: its own type, so no other gateway token (assertion, access token) passes for it. */
export const REDIRECT_TYP = 'claimgate-redirect+jwt';

/** Claims the gateway always sets itself; the template cannot write them. */
export const RESERVED_CLAIMS = ['iss', 'aud', 'exp', 'iat', 'nbf', 'jti'] as const;

type RedirectConfig = NonNullable<Config['upstream']['redirect']>;

/**
 * The document the claim template's JMESPath expressions read:
 * `userId`, `usercode`, `email`, `displayName`, `firstName`, `lastName`, `userType`, `idpUsername`,
 * `idpReferenceId`, `idpWorkforceId`, `idpCloudUsername`, `tags` (the stored user);
 * `roles`, `permissions` (names, from every source), `attributes` (`{ key: [values] }`);
 * `claims` (the claims the identity provider sent at this sign-in, `{}` when unknown).
 */
export interface TemplateInput {
  userId: string;
  usercode: string;
  email: string | null;
  displayName: string | null;
  firstName: string | null;
  lastName: string | null;
  userType: string;
  idpUsername: string | null;
  idpReferenceId: string | null;
  idpWorkforceId: string | null;
  idpCloudUsername: string | null;
  tags: string[];
  roles: string[];
  permissions: string[];
  attributes: Record<string, string[]>;
  claims: Claims;
}

/**
 * Redirect mode (docs/http-interface.md#redirect-mode): after sign-in the browser goes to the app's own SSO URL
 * (`upstream.redirect.url`, the token in the `param` query parameter) carrying a short-lived JWT minted from
 * the configured claim template. The token: header `typ` `claimgate-redirect+jwt`, `alg` as configured
 * (HS256/384/512 with `sharedSecret`, RS256/ES256 with `privateKey`, whose `kid` is sent); claims `iss` =
 * publicUrl, `aud` = upstream.url, `sub` = user id (the template may override `sub`), `iat`, `exp` =
 * iat + ttlSeconds, a random `jti` (the app should keep it single-use), then each template claim whose
 * expression yields a value (null/missing results are left out).
 */
export class RedirectMinter {
  private readonly template: [string, CompiledExpression][];
  private key?: Promise<{ key: CryptoKey | Uint8Array; kid?: string; publicJwk?: JWK }>;

  constructor(
    private readonly cfg: RedirectConfig,
    private readonly opts: { issuer: string; audience: string; now?: () => number },
  ) {
    this.template = Object.entries(cfg.claims).map(([claim, expr]) => {
      if ((RESERVED_CLAIMS as readonly string[]).includes(claim)) {
        throw new Error(`upstream.redirect.claims.${claim}: "${claim}" is set by the gateway and cannot be templated`);
      }
      try {
        return [claim, compileExpression(expr)];
      } catch (e) {
        throw new Error(`upstream.redirect.claims.${claim}: not a valid JMESPath expression (${(e as Error).message})`);
      }
    });
  }

  private signingKey() {
    this.key ??= (async () => {
      if (this.cfg.alg.startsWith('HS')) {
        if (!this.cfg.sharedSecret) throw new Error('upstream.redirect.sharedSecret is required');
        return { key: new TextEncoder().encode(this.cfg.sharedSecret) };
      }
      const jwk = this.cfg.privateKey as JWK | undefined;
      if (!jwk) throw new Error('upstream.redirect.privateKey is required');
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
      const kid = jwk.kid ?? (await calculateJwkThumbprint(pub));
      const key = (await importJWK({ ...jwk, alg: this.cfg.alg }, this.cfg.alg)) as CryptoKey;
      return { key, kid, publicJwk: { ...pub, kid, alg: this.cfg.alg, use: 'sig' } };
    })();
    return this.key;
  }

  /** Public key for `GET <basePath>/redirect/jwks.json` (RS256/ES256 only; an HS secret is never published). */
  async jwks(): Promise<{ keys: JWK[] }> {
    if (this.cfg.alg.startsWith('HS')) return { keys: [] };
    const k = await this.signingKey();
    return { keys: k.publicJwk ? [k.publicJwk] : [] };
  }

  /** The template's claims for one user. */
  templateClaims(input: TemplateInput): Record<string, unknown> {
    const out = dict<unknown>();
    for (const [claim, expr] of this.template) {
      let value: unknown;
      try {
        value = evaluateExpression(expr, input);
      } catch {
        value = undefined;
      }
      if (value !== null && value !== undefined) out[claim] = value;
    }
    return out;
  }

  async mint(input: TemplateInput): Promise<string> {
    const { key, kid } = await this.signingKey();
    const now = Math.floor((this.opts.now ? this.opts.now() : Date.now()) / 1000);
    return new SignJWT({ sub: input.userId, ...this.templateClaims(input) })
      .setProtectedHeader({ alg: this.cfg.alg, typ: REDIRECT_TYP, ...(kid ? { kid } : {}) })
      .setIssuer(this.opts.issuer)
      .setAudience(this.opts.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.cfg.ttlSeconds)
      .setJti(randomUUID())
      .sign(key);
  }

  /** `upstream.redirect.url` with the token added as `param` (other query parameters kept). */
  handoffUrl(token: string): string {
    const u = new URL(this.cfg.url);
    u.searchParams.set(this.cfg.param, token);
    return u.href;
  }
}

export function templateInput(user: UserRecord, identity: Identity, claims: Claims = {}): TemplateInput {
  return {
    userId: user.id,
    usercode: user.usercode,
    email: user.email,
    displayName: user.displayName,
    firstName: user.firstName,
    lastName: user.lastName,
    userType: user.userType,
    idpUsername: user.idpUsername,
    idpReferenceId: user.idpReferenceId,
    idpWorkforceId: user.idpWorkforceId,
    idpCloudUsername: user.idpCloudUsername,
    tags: user.tags,
    roles: identity.roles,
    permissions: identity.permissions,
    attributes: identity.attributes,
    claims,
  };
}

const minters = new WeakMap<Config, RedirectMinter>();

/** The minter of a gateway in redirect mode (built once per configuration; throws on an invalid template). */
export function redirectMinter(config: Config, now?: () => number): RedirectMinter {
  let m = minters.get(config);
  if (!m) {
    if (!config.upstream.redirect) throw new Error('upstream.redirect is required when upstream.mode is "redirect"');
    m = new RedirectMinter(config.upstream.redirect, { issuer: config.publicUrl, audience: config.upstream.url, now });
    minters.set(config, m);
  }
  return m;
}

/**
 * Where a browser that just signed in goes in redirect mode: the app's SSO URL with a fresh hand-off token.
 * The user's effective roles come from the same authorisation state the proxy would forward.
 */
export async function redirectTarget(ctx: GatewayContext, user: UserRecord, claims: Claims): Promise<string> {
  const identity = await ctx.users.getAuthState(user.id);
  if (!identity) throw new GatewayError('user_unknown', 403, 'This user cannot be signed in to the application.');
  const minter = redirectMinter(ctx.config, ctx.now);
  return minter.handoffUrl(await minter.mint(templateInput(user, identity, claims)));
}

/** Route module: in redirect mode, publishes the hand-off token's public key (asymmetric algorithms only). */
export function redirectModeRoutes(router: import('express').Router, ctx: GatewayContext): void {
  if (ctx.config.upstream.mode !== 'redirect') return;
  const minter = redirectMinter(ctx.config, ctx.now);
  router.get('/redirect/jwks.json', (_req, res, next) => {
    minter
      .jwks()
      .then((jwks) => {
        res.setHeader('Cache-Control', 'public, max-age=300');
        res.json(jwks);
      })
      .catch(next);
  });
}
