import type { Knex } from 'knex';
import type { IssuerConfig } from '../config/schema.js';
import { GatewayError, TokenError } from '../errors.js';
import { evaluateMapping, usercodeOf } from '../mapping/index.js';
import { producedBy } from '../users/preview.js';
import { noteRefusal } from '../audit/refusal-log.js';
import type { Claims } from '../mapping/types.js';
import type { TrustMap } from '../tokens/index.js';
import type { UserStore, UserRecord } from '../users/index.js';
import { recordAudit } from '../audit/audit-log.js';
import type { JtiStore } from './jti-store.js';
import type { MappingRegistry } from './mapping-registry.js';

export type LoginPurpose = 'sso' | 'bearer' | 'oidc';

export interface LoginResult {
  user: UserRecord;
  issuer: IssuerConfig;
  claims: Claims;
  created: boolean;
  changed: boolean;
  /** The mapping version this login was mapped with (null: the configuration file's). */
  mappingVersion: number | null;
}

/**
 * The one login pipeline shared by SSO links, form posts, bearer requests and OIDC callbacks:
 * verify → (single-use jti) → map → create-or-update. No HTTP here.
 */
export class LoginService {
  constructor(
    private readonly deps: {
      knex: Knex;
      trustMap: TrustMap;
      mappings: MappingRegistry;
      users: UserStore;
      jtis: JtiStore;
    },
  ) {}

  /** The version of the mapping now in force for `name` (null: the file's; undefined: none). */
  mappingVersion(name: string): number | null | undefined {
    return this.deps.mappings.get(name)?.version;
  }

  /** Verifies a token and signs its subject in. */
  async loginWithToken(token: string, purpose: 'sso' | 'bearer'): Promise<LoginResult> {
    const verified = await this.deps.trustMap.verify(token, { purpose });
    const issuer = verified.issuer;
    const claims = verified.claims as Claims;
    try {
      await this.linkChecks(issuer, claims, purpose);
    } catch (e) {
      throw noteRefusal(e, { issuer: issuer.id });
    }
    return this.loginWithClaims(issuer, claims, purpose);
  }

  /** What a sign-in link (or a bearer token that might have been one) must pass beyond the token checks. */
  private async linkChecks(issuer: IssuerConfig, claims: Claims, purpose: 'sso' | 'bearer'): Promise<void> {
    if (purpose === 'sso') {
      if (!issuer.ssoLink.enabled) {
        throw new GatewayError('sso_link_disabled', 403, 'Sign-in links are not enabled for this issuer.');
      }
      await this.consumeJti(issuer, claims);
    } else if (issuer.ssoLink.enabled && typeof claims.jti === 'string' && (await this.deps.jtis.isUsed(issuer.id, claims.jti))) {
      // A used sign-in link must not live on as a bearer token: its URL may have leaked (history, logs, referrers).
      // Bearer results are cached by token hash, so this costs one lookup per distinct token, not per request.
      throw new TokenError('jti_replayed', 'This token was already used as a sign-in link.');
    }
  }

  /** Maps already-verified claims (an OIDC ID token, or a verified token above) and syncs the user. */
  async loginWithClaims(issuer: IssuerConfig, claims: Claims, purpose: LoginPurpose): Promise<LoginResult> {
    try {
      return await this.mapAndSync(issuer, claims, purpose);
    } catch (e) {
      throw noteRefusal(e, { issuer: issuer.id });
    }
  }

  private async mapAndSync(issuer: IssuerConfig, claims: Claims, purpose: LoginPurpose): Promise<LoginResult> {
    const mapping = this.deps.mappings.get(issuer.mapping);
    if (!mapping) {
      throw new GatewayError('mapping_missing', 500, 'The sign-in mapping for this issuer is not configured.');
    }
    const outcome = evaluateMapping(mapping.compiled, claims);
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    if (!outcome.allowed) {
      // The usercode, when the claims yield one, lets `GET /audit?user=` find the refusal.
      await recordAudit(this.deps.knex, {
        type: 'login_denied',
        usercode: usercodeOf(mapping.compiled, claims),
        actor: `login:${issuer.id}`,
        source: `mapping:${issuer.id}`,
        detail: { issuer: issuer.id, sub, rule: outcome.rule, code: outcome.code, message: outcome.message, purpose },
      });
      // The rule that denied goes to the audit trail, not to the browser: it would show the mapping's structure.
      throw new GatewayError('login_denied', 403, outcome.message);
    }
    try {
      const r = await this.deps.users.loginSync({
        issuerId: issuer.id,
        iss: issuer.issuer,
        sub,
        desired: outcome.user,
        source: `mapping:${issuer.id}`,
        createUsers: issuer.createUsers,
        linkExistingUsers: issuer.linkExistingUsers,
        claims,
        mapping: { version: mapping.version, rules: { roles: producedBy(outcome.trace, 'roles'), permissions: producedBy(outcome.trace, 'permissions') } },
      });
      return { user: r.user, issuer, claims, created: r.created, changed: r.changed, mappingVersion: mapping.version };
    } catch (e) {
      if (e instanceof GatewayError && e.status === 403) {
        await recordAudit(this.deps.knex, {
          type: 'login_denied',
          usercode: outcome.user.usercode,
          actor: `login:${issuer.id}`,
          source: `mapping:${issuer.id}`,
          detail: { issuer: issuer.id, sub, code: e.code, purpose },
        });
      }
      throw e;
    }
  }

  private async consumeJti(issuer: IssuerConfig, claims: Claims): Promise<void> {
    const jti = claims.jti;
    if (jti === undefined || jti === null || jti === '') {
      if (issuer.ssoLink.requireJti) throw new TokenError('jti_missing', 'The sign-in link has no jti and cannot be used.');
      return;
    }
    if (typeof jti !== 'string' || jti.length > 256) throw new TokenError('token_malformed', 'The token jti is malformed.');
    const exp = typeof claims.exp === 'number' ? claims.exp : Math.floor(Date.now() / 1000);
    const expiresAt = new Date((exp + issuer.clockToleranceSeconds + 60) * 1000);
    if (!(await this.deps.jtis.consume(issuer.id, jti, expiresAt))) {
      throw new TokenError('jti_replayed', 'This sign-in link has already been used.');
    }
  }
}
