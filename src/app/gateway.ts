import type { Config } from '../core/config/schema.js';
import type { Logger } from '../observability/logger.js';
import { openDatabase, type Database } from '../store/db/index.js';
import { InvalidationBus } from '../core/cache/invalidation.js';
import { InvalidatedCache } from '../core/cache/invalidated-cache.js';
import { TrustMap } from '../core/tokens/index.js';
import { UserStore } from '../store/users/index.js';
import { LoginService } from '../core/login/login-service.js';
import { MappingRegistry } from '../core/login/mapping-registry.js';
import { JtiStore } from '../store/jti.js';
import { SessionCookie } from '../core/sessions/cookie.js';
import { SessionStore, type Session } from '../store/sessions.js';
import { Authenticator, type AuthState } from '../core/sessions/authenticator.js';
import { AssertionSigner } from '../core/identity/assertion.js';
import { loadAssertionKeys, loadStoredSigningKeys } from '../store/signing-keys.js';
import { AccessTokens, ApiAuthenticator, type Credential } from '../core/credentials/index.js';
import { CredentialStore } from '../store/credentials.js';
import { recordAudit } from '../store/audit-log.js';
import { notePrincipal } from '../web/request-scope.js';
import { UpstreamProxy } from '../features/proxy/proxy.js';
import type { GatewayParts } from './parts.js';
import { buildGatewayApp } from './http-app.js';
import { buildAdminFeatures, buildJobService, startFeatures, type AdminFeatureOptions } from './admin-features.js';
import { createDispatcher } from '../features/proxy/dispatch.js';
import type { Feature } from '../web/feature.js';
import { createPageNav, type PageNav } from '../web/page-nav.js';
import { SignIn } from '../web/sign-in.js';
import { SsoSwitch } from '../web/sso-switch.js';
import { createSso } from '../features/sso/routes.js';
import { createSession } from '../features/session/routes.js';
import { createLoginPage } from '../features/session/login-page.js';
import { createMeta } from '../features/meta/routes.js';
import { createApiToken } from '../features/api-token/routes.js';
import { createForwardAuth } from '../features/forward-auth/forward-auth.js';
import { createRedirect } from '../features/redirect/redirect-mode.js';
import { createOidc } from '../features/oidc/routes.js';
import { consoleFields } from '../web/admin-auth.js';
import { RateLimits } from '../web/rate-limit.js';
import { GatewayMetrics } from '../observability/metrics.js';
import { Outcomes } from '../observability/outcomes.js';
import { createTracing, routeLabel } from '../observability/tracing.js';
import { SpanKind } from '@opentelemetry/api';
import type { JobsOptions } from '../features/jobs/index.js';
import { EntraGroups } from '../core/idp/entra-groups.js';
import { egressFetch } from '../core/idp/egress.js';

const PURGE_INTERVAL_MS = 10 * 60 * 1000;

export interface Gateway {
  /** Every part, built once (tests and the CLI read them; no feature receives them). */
  parts: GatewayParts;
  handler: ReturnType<typeof createDispatcher>['handler'];
  upgrade: ReturnType<typeof createDispatcher>['upgrade'];
  close(): Promise<void>;
}

export interface GatewayOptions {
  logger: Logger;
  /** An open database (tests); otherwise one is opened from config.database. */
  db?: Database;
  now?: () => number;
  /** Lifecycle jobs: a fake clock (tests), or `disabled` to schedule nothing. */
  jobs?: JobsOptions;
  /** A worker of a multi-process instance: its scrape answers the sum over workers (see `cluster-metrics.ts`). */
  metricsSource?: () => Promise<string>;
  /** The worker's number in a multi-process instance (a label on per-process metrics). */
  worker?: string;
}

/** Builds every part of the gateway once and wires them together. The only place that knows them all. */
export async function createGateway(config: Config, opts: GatewayOptions): Promise<Gateway> {
  const now = opts.now ?? Date.now;
  const ownsDb = !opts.db;
  const db = opts.db ?? (await openDatabase(config.database));
  try {
    if (ownsDb && config.database.migrate) await db.migrate();

    const bus = new InvalidationBus({
      publish: (payloads) => db.notify('claimgate_invalidate', payloads),
      subscribe: (onMessage, onState) => db.listen('claimgate_invalidate', onMessage, onState),
    });
    await bus.start();

    const egress = egressFetch(config.egress);
    const tracing = createTracing(config.tracing);
    // A key-set or discovery fetch is a span of its own inside the sign-in's verification.
    const keyFetch: typeof fetch = tracing.enabled
      ? (input, init) => tracing.span('claimgate.key_fetch', {}, () => egress(input, init), SpanKind.CLIENT)
      : egress;
    const trustMap = new TrustMap(config.issuers, {
      fetch: keyFetch,
      publicUrl: config.publicUrl,
      maxTokenBytes: config.limits.tokenBytes,
      now: () => Math.floor(now() / 1000),
    });
    const mappings = new MappingRegistry(config.mappings);
    const users = new UserStore(db, {
      now,
      onUserChanged: (id: string) => void bus.publish({ kind: 'user', id }),
    });
    const jtis = new JtiStore(db.knex);
    const outcomes = new Outcomes();
    const entraGroups = new EntraGroups(config.issuers, egress, now);
    const login = new LoginService({
      audit: (event) => recordAudit(db.knex, event),
      trustMap,
      mappings,
      users,
      jtis,
      outcomes,
      tracing,
      bus,
      prepareClaims: (issuer, claims) => entraGroups.prepare(issuer, claims),
    });
    const publicUrl = new URL(config.publicUrl);
    const cookie = new SessionCookie(config.session.secret, {
      name: config.session.cookieName,
      secure: publicUrl.protocol === 'https:',
      sameSite: config.session.sameSite,
      path: '/',
    });
    const sessions = new SessionStore(db.knex, {
      idleTimeoutSeconds: config.session.idleTimeoutSeconds,
      absoluteTimeoutSeconds: config.session.absoluteTimeoutSeconds,
      secrets: config.session.secret,
      now,
    });
    const sessionCache = new InvalidatedCache<Session>(bus, 'session', (h) => sessions.getByHash(h), {
      owner: { kind: 'user', of: (s) => s.userId },
    });
    const authStates = new InvalidatedCache<AuthState>(bus, 'user', (id) => users.getAuthState(id));
    const authenticator = new Authenticator({
      cookie,
      sessions,
      sessionCache,
      authStates,
      login,
      bus,
      idleTimeoutSeconds: config.session.idleTimeoutSeconds,
      now,
    });
    const assertion = new AssertionSigner(await loadAssertionKeys(db, config), {
      issuer: config.publicUrl,
      audience: config.upstream.url,
      ttlSeconds: config.assertion.ttlSeconds,
      now,
    });
    const credentialStore = new CredentialStore(db.knex, { now, onRevoked: (id) => bus.publish({ kind: 'credential', id }) });
    const accessTokens = new AccessTokens(await loadStoredSigningKeys(db, 'access'), {
      issuer: config.publicUrl,
      audience: `${config.publicUrl.replace(/\/+$/, '')}${config.basePath}`,
      ttlSeconds: config.provisioning.tokenTtlSeconds,
      now,
    });
    const rateLimits = new RateLimits(config, now);
    const credentials = {
      store: credentialStore,
      accessTokens,
      auth: new ApiAuthenticator({
        store: credentialStore,
        accessTokens,
        cache: new InvalidatedCache<Credential>(bus, 'credential', (id) => credentialStore.get(id)),
        limits: rateLimits,
        onAuthenticated: (req, principal) => notePrincipal(req, principal.credential.name),
      }),
    };
    const proxy =
      config.upstream.mode === 'proxy' ? new UpstreamProxy(config.upstream.url, { timeoutSeconds: config.upstream.timeoutSeconds, outcomes, tracing }) : null;

    const metrics = new GatewayMetrics({ knex: db.knex, source: opts.metricsSource, worker: opts.worker });
    metrics.observe(outcomes);

    const parts: GatewayParts = {
      config,
      logger: opts.logger,
      db,
      bus,
      trustMap,
      mappings,
      users,
      jtis,
      login,
      cookie,
      sessions,
      sessionCache,
      authStates,
      authenticator,
      assertion,
      proxy,
      credentials,
      rateLimits,
      metrics,
      tracing,
      jobs: buildJobService({ config, db, logger: opts.logger, bus, clock: opts.jobs?.clock, tracing, fetch: egress }),
      now,
      egressFetch: egress,
    };
    const pageNav = createPageNav({ basePath: config.basePath, cookie, authenticator });
    const features = buildFeatures(parts, pageNav, { ownsDb, jobsDisabled: opts.jobs?.disabled });
    // Every route is mounted first (a refused route configuration throws before anything runs), then the features
    // start in order (stored mapping versions are in force before the first request); a failed start closes those
    // already started.
    let app: ReturnType<typeof buildGatewayApp>;
    let closeFeatures: () => Promise<void>;
    try {
      app = buildGatewayApp({ config, logger: opts.logger, knex: db.knex, pageNav }, features);
      closeFeatures = await startFeatures(features);
    } catch (e) {
      // What was started before the features (the bus listener, the upstream pool, tracing) stops with them.
      await bus.stop().catch(() => undefined);
      await proxy?.close().catch(() => undefined);
      await tracing.close().catch(() => undefined);
      throw e;
    }
    // Used link ids and ended sessions are only needed until they could no longer be accepted anyway; stored login
    // claims (personal data, kept for mapping previews) only as the newest logins per issuer.
    const purge = () => {
      void Promise.all([jtis.purge(new Date(now())), sessions.purge(), users.pruneLoginClaims()]).catch((e: unknown) =>
        opts.logger.warn('purge of used link ids, ended sessions and old login claims failed', { cause: (e as Error).message }),
      );
    };
    const purgeTimer = setInterval(purge, PURGE_INTERVAL_MS);
    purgeTimer.unref();

    const dispatcher = createDispatcher({ config, logger: opts.logger, assertion, authenticator, proxy, bus, authStates, sessionCache, sessions, pageNav, tracing }, app);
    const { upgrade } = dispatcher;
    const handler: typeof dispatcher.handler = tracing.enabled
      ? (req, res) => tracing.request(req, res, routeLabel((req.url ?? '/').split('?')[0]!, config.basePath), () => dispatcher.handler(req, res))
      : dispatcher.handler;
    return {
      parts,
      handler,
      upgrade,
      async close() {
        clearInterval(purgeTimer);
        await closeFeatures();
        await bus.stop();
        await proxy?.close();
        await tracing.close();
        if (ownsDb) await db.close();
      },
    };
  } catch (e) {
    if (ownsDb) await db.close().catch(() => undefined);
    throw e;
  }
}

/**
 * The gateway's features in route order, each built from exactly the parts it declares. `GET /login` is always the
 * login page's (features/session/login-page.ts); the OIDC feature gives it the start of the redirect login, used
 * for an issuer that has an `oidc` client. Forward-auth and redirect mode exist only in their `upstream.mode`.
 */
function buildFeatures(parts: GatewayParts, pageNav: PageNav, options: AdminFeatureOptions): Feature[] {
  const { config, logger, now, bus, cookie, sessions, sessionCache, authenticator, users, login, trustMap, rateLimits } = parts;
  const redirect = config.upstream.mode === 'redirect' ? createRedirect({ config, users, now }) : null;
  const signIn = new SignIn({
    knex: parts.db.knex,
    logger,
    tracing: parts.tracing,
    bus,
    cookie,
    sessions,
    handoff: redirect ? (user, claims) => redirect.target(user, claims) : undefined,
  });
  const signInSwitch = new SsoSwitch({ config, cookie, authenticator, trustMap, mappings: parts.mappings, users, login, sessions, signIn, logger, now });
  const oidc = createOidc({
    config,
    logger,
    knex: parts.db.knex,
    bus,
    trustMap,
    login,
    jtis: parts.jtis,
    sessions,
    sessionCache,
    authenticator,
    signIn,
    pageNav,
    now,
    fetch: parts.egressFetch,
  });
  const features: Feature[] = [
    createSso({ config, rateLimits, login, signIn, signInSwitch, sessions, tracing: parts.tracing }),
    createSession({
      config,
      authenticator,
      users,
      cookie,
      sessions,
      signIn,
      logger,
      providerLogoutUrl: (session) => oidc.providerLogoutUrl(session),
      meFields: (auth) => consoleFields({ config }, auth),
    }),
    createMeta({ db: parts.db, assertion: parts.assertion }),
    createApiToken({ config, rateLimits, credentials: parts.credentials, logger }),
    oidc,
    createLoginPage({ config, startOidc: (req, res, issuerId) => oidc.startLogin(req, res, issuerId) }),
  ];
  if (config.upstream.mode === 'forward-auth') features.push(createForwardAuth({ config, authenticator, assertion: parts.assertion, logger }));
  if (redirect) features.push(redirect);
  return [...features, ...buildAdminFeatures(parts, options)];
}
