import type { Knex } from 'knex';
import type { IssuerConfig } from '../config/schema.js';
import { GatewayError, TokenError } from '../errors.js';
import { evaluateMapping } from '../mapping/index.js';
import type { Claims } from '../mapping/types.js';
import type { TrustMap } from '../tokens/index.js';
import type { UserStore, UserRecord } from '../users/index.js';
import { recordAudit } from '../audit/audit-log.js';
import type { JtiStore } from './jti-store.js';
import type { MappingRegistry } from './mapping-registry.js';
import type { LoginObservation, LoginOutcome, Outcomes } from '../audit/outcomes.js';
import type { Tracing } from '../audit/tracing.js';

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
      /** Told how every sign-in ended (metrics). */
      outcomes?: Outcomes;
      /** Spans for verification, mapping and the user sync. */
      tracing?: Tracing;
    },
  ) {}

  /** The version of the mapping now in force for `name` (null: the file's; undefined: none). */
  mappingVersion(name: string): number | null | undefined {
    return this.deps.mappings.get(name)?.version;
  }

  /** Verifies a token and signs its subject in. */
  async loginWithToken(token: string, purpose: 'sso' | 'bearer'): Promise<LoginResult> {
    const seen = this.observe(purpose, this.deps.outcomes ? unverifiedIssuerId(token, this.deps.trustMap.issuers) : 'unknown');
    try {
      const verify = () => this.deps.trustMap.verify(token, { purpose });
      const verified = this.deps.tracing ? await this.deps.tracing.span('claimgate.verify', { 'claimgate.purpose': purpose }, verify) : await verify();
      const issuer = verified.issuer;
      const claims = verified.claims as Claims;
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
      return seen.done(await this.mapAndSync(issuer, claims, purpose, seen.event));
    } catch (e) {
      throw seen.failed(e);
    }
  }

  /** Maps already-verified claims (an OIDC ID token, or a verified token above) and syncs the user. */
  async loginWithClaims(issuer: IssuerConfig, claims: Claims, purpose: LoginPurpose): Promise<LoginResult> {
    const seen = this.observe(purpose, issuer.id);
    try {
      return seen.done(await this.mapAndSync(issuer, claims, purpose, seen.event));
    } catch (e) {
      throw seen.failed(e);
    }
  }

  /** Times one sign-in and reports how it ended to the outcome hooks, once. */
  private observe(method: LoginPurpose, issuer: string) {
    const started = performance.now();
    const event: LoginObservation = { issuer, method, outcome: 'success', seconds: 0 };
    const report = (outcome: LoginOutcome, code?: string) => {
      if (!this.deps.outcomes) return;
      event.outcome = outcome;
      if (code !== undefined) event.code = code;
      event.seconds = (performance.now() - started) / 1000;
      this.deps.outcomes.login(event);
    };
    return {
      event,
      done<T>(result: T): T {
        report('success');
        return result;
      },
      failed(e: unknown): unknown {
        report(outcomeOf(e), e instanceof GatewayError ? e.code : undefined);
        return e;
      },
    };
  }

  private async mapAndSync(issuer: IssuerConfig, claims: Claims, purpose: LoginPurpose, seen: LoginObservation): Promise<LoginResult> {
    const mapping = this.deps.mappings.get(issuer.mapping);
    if (!mapping) {
      throw new GatewayError('mapping_missing', 500, 'The sign-in mapping for this issuer is not configured.');
    }
    const mapStarted = performance.now();
    const outcome = evaluateMapping(mapping.compiled, claims);
    seen.mappingSeconds = (performance.now() - mapStarted) / 1000;
    this.deps.tracing?.annotate({ 'claimgate.issuer': issuer.id, 'claimgate.mapping_version': mapping.version ?? 0, 'claimgate.mapping_seconds': seen.mappingSeconds });
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    if (!outcome.allowed) {
      await recordAudit(this.deps.knex, {
        type: 'login_denied',
        source: `mapping:${issuer.id}`,
        detail: { issuer: issuer.id, sub, rule: outcome.rule, code: outcome.code, message: outcome.message, purpose },
      });
      // The rule that denied goes to the audit trail, not to the browser: it would show the mapping's structure.
      throw new GatewayError('login_denied', 403, outcome.message);
    }
    try {
      const sync = () => this.deps.users.loginSync({
        issuerId: issuer.id,
        iss: issuer.issuer,
        sub,
        desired: outcome.user,
        source: `mapping:${issuer.id}`,
        createUsers: issuer.createUsers,
        linkExistingUsers: issuer.linkExistingUsers,
        claims,
      });
      const r = this.deps.tracing ? await this.deps.tracing.span('claimgate.user_sync', { 'claimgate.issuer': issuer.id }, sync) : await sync();
      return { user: r.user, issuer, claims, created: r.created, changed: r.changed, mappingVersion: mapping.version };
    } catch (e) {
      if (e instanceof GatewayError && e.status === 403) {
        await recordAudit(this.deps.knex, {
          type: 'login_denied',
          usercode: outcome.user.usercode,
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

function outcomeOf(e: unknown): LoginOutcome {
  if (e instanceof TokenError) return 'rejected';
  if (e instanceof GatewayError && e.status < 500) return e.status === 401 ? 'rejected' : 'denied';
  return 'error';
}

/**
 * The configured issuer id a token claims to come from (unverified: for a metric label only, so its values are
 * bounded by the configuration), else `unknown`.
 */
export function unverifiedIssuerId(token: string, issuers: readonly IssuerConfig[]): string {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown };
    if (typeof payload.iss !== 'string') return 'unknown';
    return issuers.find((i) => i.issuer === payload.iss)?.id ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
