import type { IssuerConfig } from '../config/schema.js';
import { GatewayError, TokenError } from '../errors/errors.js';
import { evaluateMapping, usercodeOf } from '../mapping/index.js';
import { producedBy } from '../mapping/produced-by.js';
import { noteRefusal } from '../../observability/refusal-log.js';
import type { Claims } from '../mapping/types.js';
import type { TrustMap } from '../tokens/index.js';
import type { UserRecord } from '../users/types.js';
import type { AuditWriter, JtiLedger, LoginExtras, LoginUserSync } from './ports.js';
import { linkReplayed, refusalError } from './refusals.js';
import type { PendingSession, Session } from '../sessions/session.js';
import { linkIdOf } from './link-id.js';
import { evaluateOptionsFor } from '../config/presets.js';
import type { InvalidationBus } from '../cache/invalidation.js';
import type { MappingRegistry } from './mapping-registry.js';
import { enforceTextRule, hasControlCharacter, TextRefused } from '../users/text-rules.js';
import type { LoginObservation, LoginOutcome, Outcomes } from '../../observability/outcomes.js';
import type { Tracing } from '../../observability/tracing.js';

export type LoginPurpose = 'sso' | 'bearer' | 'oidc';

export interface LoginResult {
  user: UserRecord;
  issuer: IssuerConfig;
  claims: Claims;
  created: boolean;
  changed: boolean;
  /** The mapping version this login was mapped with (null: the configuration file's). */
  mappingVersion: number | null;
  /** The session the sign-in's statement started (when one was asked for): its cookie id and state. */
  session?: { id: string; session: Session };
}

/** A sign-in link to spend: its key in the single-use store, until when, and whether a spent key refuses the sign-in. */
interface LinkSpend {
  issuerId: string;
  key: string;
  expiresAt: Date;
  /** A jti: used once only. A link without one (the issuer allows it) is recorded by hash, and may be used again as a link. */
  once: boolean;
  tokenHash: string;
  /** Spent already (by the login statement, or apart from it). */
  spent: boolean;
}

/** What a sign-in writes beside the user sync, in the same statement. */
export interface SignInOptions {
  /** The new session (SessionStore.prepare): written with the user, audited as `login`. */
  session?: PendingSession;
}

/**
 * The one login pipeline shared by SSO links, form posts, bearer requests and OIDC callbacks:
 * verify → (single-use jti) → map → create-or-update. No HTTP here.
 */
export class LoginService {
  constructor(
    private readonly deps: {
      /** Writes the audit line of a refused sign-in. */
      audit: AuditWriter;
      trustMap: TrustMap;
      mappings: MappingRegistry;
      users: LoginUserSync;
      jtis: JtiLedger;
      /** Told how every sign-in ended (metrics). */
      outcomes?: Outcomes;
      /** Spans for verification, mapping and the user sync. */
      tracing?: Tracing;
      /** Completes provider-specific claims (Entra group overage) before mapping; may refuse the sign-in. */
      prepareClaims?: (issuer: IssuerConfig, claims: Claims) => Promise<Claims>;
      /** Tells every process when a token was used as a sign-in link (its cached bearer results must go). */
      bus?: InvalidationBus;
    },
  ) {
    deps.bus?.on((m) => {
      if (m.kind === 'token') deps.trustMap.forget(m.id);
    });
  }

  private async prepare(issuer: IssuerConfig, claims: Claims): Promise<Claims> {
    return this.deps.prepareClaims === undefined ? claims : this.deps.prepareClaims(issuer, claims);
  }

  /** The version of the mapping now in force for `name` (null: the file's; undefined: none). */
  mappingVersion(name: string): number | null | undefined {
    return this.deps.mappings.get(name)?.version;
  }

  /** Verifies a token and signs its subject in. */
  async loginWithToken(token: string, purpose: 'sso' | 'bearer', opts: SignInOptions = {}): Promise<LoginResult> {
    const seen = this.observe(purpose, this.deps.outcomes ? unverifiedIssuerId(token, this.deps.trustMap.issuers) : 'unknown');
    let issuerId: string | undefined;
    try {
      const verify = () => this.deps.trustMap.verify(token, { purpose });
      const verified = this.deps.tracing ? await this.deps.tracing.span('claimgate.verify', { 'claimgate.purpose': purpose }, verify) : await verify();
      const issuer = verified.issuer;
      issuerId = issuer.id;
      const tokenClaims = verified.claims as Claims;
      await this.refuseOwnIdToken(issuer, tokenClaims, verified.tokenHash);
      const linkId = linkIdOf(issuer, tokenClaims);
      if (purpose === 'sso' && !issuer.ssoLink.enabled) {
        throw new GatewayError('sso_link_disabled', 'Sign-in links are not enabled for this issuer.');
      }
      // Before the link id is consumed: a sign-in refused for unknown groups must leave nothing written.
      const claims = await this.prepare(issuer, tokenClaims);
      let link: LinkSpend | undefined;
      if (purpose === 'sso') {
        // Spent by the login statement itself; apart from it (spendApart) when the sign-in ends before that statement.
        link = this.linkSpend(issuer, linkId, claims, verified.tokenHash);
      } else if (issuer.ssoLink.enabled && (await this.deps.jtis.isUsed(issuer.id, typeof linkId === 'string' ? linkId : linkKey(verified.tokenHash)))) {
        // A used sign-in link must not live on as a bearer token: its URL may have leaked (history, logs, referrers).
        // Bearer results are cached by token hash, so this costs one lookup per distinct token, not per request.
        throw new TokenError('jti_replayed', 'This token was already used as a sign-in link.');
      }
      return seen.done(await this.mapAndSync(issuer, claims, purpose, seen.event, link, purpose === 'sso' ? opts.session : undefined));
    } catch (e) {
      throw seen.failed(issuerId === undefined ? e : noteRefusal(e, { issuer: issuerId }));
    }
  }

  /**
   * Remembers an ID token the redirect login (or a session refresh) received, until it expires, so that it is never
   * taken as a bearer token or a sign-in link: the gateway hands it to the browser as `id_token_hint` at logout, and
   * it must not outlive that logout as a credential.
   */
  async recordIdToken(issuer: IssuerConfig, verified: { claims: Claims; tokenHash: string }): Promise<void> {
    await this.deps.jtis.consume(issuer.id, idTokenKey(verified.tokenHash), expiryOf(issuer, verified.claims));
  }

  /**
   * ID tokens tell the gateway's own client who signed in; they are not access tokens. One addressed to this
   * issuer's OIDC client id is refused when it carries a `nonce` (only the authorization request's ID tokens do)
   * or when the gateway itself received it. Other tokens for the same audience (an API's access tokens) still pass.
   */
  private async refuseOwnIdToken(issuer: IssuerConfig, claims: Claims, tokenHash: string): Promise<void> {
    const clientId = issuer.oidc?.clientId;
    if (clientId === undefined) return;
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(clientId)) return;
    if (claims.nonce !== undefined || (await this.deps.jtis.isUsed(issuer.id, idTokenKey(tokenHash)))) {
      throw new TokenError('id_token_not_accepted', 'An ID token of the sign-in is neither a bearer token nor a sign-in link.');
    }
  }

  /** Maps already-verified claims (an OIDC ID token, or a verified token above) and syncs the user. */
  async loginWithClaims(issuer: IssuerConfig, tokenClaims: Claims, purpose: LoginPurpose, opts: SignInOptions = {}): Promise<LoginResult> {
    const seen = this.observe(purpose, issuer.id);
    try {
      const claims = await this.prepare(issuer, tokenClaims);
      return seen.done(await this.mapAndSync(issuer, claims, purpose, seen.event, undefined, opts.session));
    } catch (e) {
      throw seen.failed(noteRefusal(e, { issuer: issuer.id }));
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

  private async mapAndSync(
    issuer: IssuerConfig,
    claims: Claims,
    purpose: LoginPurpose,
    seen: LoginObservation,
    link?: LinkSpend,
    session?: PendingSession,
  ): Promise<LoginResult> {
    let mapping: NonNullable<ReturnType<MappingRegistry['get']>>;
    let outcome: ReturnType<typeof evaluateMapping>;
    let sub: string;
    try {
      const m = this.deps.mappings.get(issuer.mapping);
      if (!m) {
        throw new GatewayError('mapping_missing', 'The sign-in mapping for this issuer is not configured.');
      }
      mapping = m;
      const mapStarted = performance.now();
      const evaluate = () => evaluateMapping(m.compiled, claims, evaluateOptionsFor(issuer));
      outcome = this.deps.tracing?.enabled
        ? await this.deps.tracing.span('claimgate.mapping', { 'claimgate.issuer': issuer.id, 'claimgate.mapping_version': m.version ?? 0 }, async () => evaluate())
        : evaluate();
      seen.mappingSeconds = (performance.now() - mapStarted) / 1000;
      this.deps.tracing?.annotate({ 'claimgate.issuer': issuer.id, 'claimgate.mapping_version': m.version ?? 0, 'claimgate.mapping_seconds': seen.mappingSeconds });
      sub = typeof claims.sub === 'string' ? claims.sub : '';
      // Claims reach the user record and the identity headers: the one text rule refuses or cleans them first.
      if (hasControlCharacter(sub)) throw new TextRefused([{ field: 'sub', message: 'contains a control character' }], 'claim_invalid');
      if (outcome.allowed) outcome.user = enforceTextRule(outcome.user, 'claim_invalid');
    } catch (e) {
      await this.spendApart(link);
      throw e;
    }
    if (!outcome.allowed) {
      await this.spendApart(link);
      // The usercode, when the claims yield one, lets `GET /audit?user=` find the refusal.
      await this.deps.audit({
        type: 'login_denied',
        usercode: usercodeOf(mapping.compiled, claims),
        actor: `login:${issuer.id}`,
        source: `mapping:${issuer.id}`,
        detail: { issuer: issuer.id, sub, rule: outcome.rule, code: outcome.code, message: outcome.message, purpose },
      });
      // The rule that denied goes to the audit trail, not to the browser: it would show the mapping's structure.
      throw new GatewayError('login_denied', outcome.message);
    }
    const desired = outcome.user;
    const extras: LoginExtras = { denied: { purpose, at: new Date() } };
    if (link) extras.spend = { issuerId: link.issuerId, key: link.key, expiresAt: link.expiresAt, once: link.once };
    if (session) extras.session = { row: session.row, auditAt: new Date() };
    let answer: Awaited<ReturnType<LoginUserSync['signIn']>>;
    try {
      const sync = () =>
        this.deps.users.signIn(
          {
            issuerId: issuer.id,
            iss: issuer.issuer,
            sub,
            desired,
            source: `mapping:${issuer.id}`,
            createUsers: issuer.createUsers,
            linkExistingUsers: issuer.linkExistingUsers,
            claims,
            mapping: { version: mapping.version, rules: { roles: producedBy(outcome.trace, 'roles'), permissions: producedBy(outcome.trace, 'permissions') } },
          },
          extras,
        );
      answer = this.deps.tracing ? await this.deps.tracing.span('claimgate.user_sync', { 'claimgate.issuer': issuer.id }, sync) : await sync();
    } catch (e) {
      // The statement wrote nothing (not even the spent link): spend the link as before the user sync.
      await this.spendApart(link);
      throw e;
    }
    if (link) {
      // The statement committed the spent link: every process now drops what it cached for the token as a bearer
      // token. The NOTIFY is a statement of its own: PostgreSQL serialises the commits of notifying transactions
      // (a lock held until their commit record is flushed), which would queue every sign-in behind the others.
      link.spent = true;
      if (!('refused' in answer && answer.refused === 'jti_replayed')) await this.deps.bus?.publish({ kind: 'token', id: link.tokenHash });
    }
    if ('refused' in answer) throw refusalError(answer.refused);
    const result: LoginResult = { user: answer.user, issuer, claims, created: answer.created, changed: answer.changed, mappingVersion: mapping.version };
    if (session) result.session = { id: session.id, session: { ...session.session, userId: answer.user.id, issuerId: issuer.id } };
    return result;
  }

  /**
   * Spends a verified sign-in link as a sign-in would (its link id, and its cached bearer results in every process)
   * without signing anyone in: the confirmation before switching users spends the link when it is shown.
   */
  async spendLink(issuer: IssuerConfig, claims: Claims, tokenHash: string): Promise<void> {
    await this.refuseOwnIdToken(issuer, claims, tokenHash);
    await this.spendApart(this.linkSpend(issuer, linkIdOf(issuer, claims), claims, tokenHash));
  }

  /**
   * What spending a link records: its jti, or (the issuer allows links without one) its hash, which may be used again
   * as a link but never as a bearer token. Throws for a missing (when required) or malformed jti, writing nothing.
   */
  private linkSpend(issuer: IssuerConfig, jti: unknown, claims: Claims, tokenHash: string): LinkSpend {
    const expiresAt = expiryOf(issuer, claims);
    if (jti === undefined || jti === null || jti === '') {
      if (issuer.ssoLink.requireJti) throw new TokenError('jti_missing', 'The sign-in link has no jti and cannot be used.');
      return { issuerId: issuer.id, key: linkKey(tokenHash), expiresAt, once: false, tokenHash, spent: false };
    }
    if (typeof jti !== 'string' || jti.length > 256 || hasControlCharacter(jti)) throw new TokenError('token_malformed', 'The token jti is malformed.');
    return { issuerId: issuer.id, key: jti, expiresAt, once: true, tokenHash, spent: false };
  }

  /** Spends a link in statements of its own (a sign-in that ends before its login statement); once only. */
  private async spendApart(link: LinkSpend | undefined): Promise<void> {
    if (!link || link.spent) return;
    link.spent = true;
    if (!(await this.deps.jtis.consume(link.issuerId, link.key, link.expiresAt)) && link.once) throw linkReplayed();
    await this.deps.bus?.publish({ kind: 'token', id: link.tokenHash });
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

/** ID tokens share the single-use store with link jtis, under a key no issuer's jti is expected to take. */
function idTokenKey(tokenHash: string): string {
  return `id_token:${tokenHash}`;
}

/** A link used without a jti is remembered by its hash, under a key of its own. */
function linkKey(tokenHash: string): string {
  return `link:${tokenHash}`;
}

/** Single-use records live until the token could not be accepted anyway (exp plus tolerance), then the purge drops them. */
function expiryOf(issuer: IssuerConfig, claims: Claims): Date {
  const exp = typeof claims.exp === 'number' ? claims.exp : Math.floor(Date.now() / 1000);
  return new Date((exp + issuer.clockToleranceSeconds + 60) * 1000);
}
