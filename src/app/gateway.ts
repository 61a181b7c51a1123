import type { Config } from '../core/config/schema.js';
import type { Logger } from '../observability/logger.js';
import { openDatabase, type Database } from '../store/db/index.js';
import { InvalidationBus } from '../core/cache/invalidation.js';
import { InvalidatedCache } from '../core/cache/invalidated-cache.js';
import { TrustMap } from '../core/tokens/index.js';
import { UserStore } from '../store/users/index.js';
import { recordAudit } from '../store/audit-log.js';
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
import { UpstreamProxy } from '../features/proxy/proxy.js';
import type { GatewayContext } from './gateway-context.js';
import { buildGatewayApp, type RouteModule } from './http-app.js';
import { createDispatcher } from '../features/proxy/dispatch.js';
import { defaultRouteModules } from '../web/modules.js';
import { RateLimits } from '../web/rate-limit.js';
import { notePrincipal } from '../web/request-scope.js';
import { GatewayMetrics } from '../observability/metrics.js';
import { Outcomes } from '../observability/outcomes.js';
import { createTracing, routeLabel } from '../observability/tracing.js';
import { SpanKind } from '@opentelemetry/api';
import type { JobsOptions } from '../features/jobs/index.js';
import { RefreshScheduler } from '../features/oidc/refresh-scheduler.js';
import { EntraGroups } from '../core/idp/entra-groups.js';
import { egressFetch } from '../core/idp/egress.js';
import { buildFeaturesB, buildJobService, startFeatures } from './wiring-b.js';

const PURGE_INTERVAL_MS = 10 * 60 * 1000;

export interface Gateway {
  ctx: GatewayContext;
  handler: ReturnType<typeof createDispatcher>['handler'];
  upgrade: ReturnType<typeof createDispatcher>['upgrade'];
  close(): Promise<void>;
}

export interface GatewayOptions {
  logger: Logger;
  /** An open database (tests); otherwise one is opened from config.database. */
  db?: Database;
  now?: () => number;
  routeModules?: RouteModule[];
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
      publish: (payload) => db.notify('claimgate_invalidate', payload),
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

    const closers: (() => Promise<void>)[] = [];
    const ctx: GatewayContext = {
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
      onClose: (stop) => void closers.push(stop),
    };
    // Used link ids and ended sessions are only needed until they could no longer be accepted anyway; stored login
    // claims (personal data, kept for mapping previews) only as the newest logins per issuer.
    const purge = () => {
      void Promise.all([jtis.purge(new Date(now())), sessions.purge(), users.pruneLoginClaims()]).catch((e: unknown) =>
        opts.logger.warn('purge of used link ids, ended sessions and old login claims failed', { cause: (e as Error).message }),
      );
    };
    const purgeTimer = setInterval(purge, PURGE_INTERVAL_MS);
    purgeTimer.unref();
    // Re-mapping of OIDC sessions from refresh tokens, started in the background by the requests that use them.
    const refresher = new RefreshScheduler(ctx);
    if (refresher.enabled) authenticator.observeSessions((s) => refresher.observe(s));
    // Admin, console, SCIM, sync, events, jobs, audit stream (src/app/wiring-b.ts): mounted, then started before the first request.
    const featuresB = buildFeaturesB(ctx, { ownsDb, jobsDisabled: opts.jobs?.disabled });
    const app = buildGatewayApp(ctx, [...(opts.routeModules ?? defaultRouteModules), (r) => featuresB.forEach((f) => f.routes?.(r))]);
    closers.push(await startFeatures(featuresB));
    const dispatcher = createDispatcher(ctx, app);
    const { upgrade } = dispatcher;
    const handler: typeof dispatcher.handler = tracing.enabled
      ? (req, res) => tracing.request(req, res, routeLabel((req.url ?? '/').split('?')[0]!, config.basePath), () => dispatcher.handler(req, res))
      : dispatcher.handler;
    return {
      ctx,
      handler,
      upgrade,
      async close() {
        clearInterval(purgeTimer);
        for (const stop of closers) await stop();
        authenticator.observeSessions(null);
        await refresher.close();
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
