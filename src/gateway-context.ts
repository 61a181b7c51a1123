import type { Tracing } from './audit/tracing.js';
import type { Config } from './config/schema.js';
import type { Logger } from './audit/logger.js';
import type { Database } from './db/index.js';
import type { InvalidationBus } from './cache/invalidation.js';
import type { InvalidatedCache } from './cache/invalidated-cache.js';
import type { TrustMap } from './tokens/index.js';
import type { UserStore } from './users/index.js';
import type { LoginService } from './login/login-service.js';
import type { MappingRegistry } from './login/mapping-registry.js';
import type { JtiStore } from './login/jti-store.js';
import type { SessionCookie } from './sessions/cookie.js';
import type { Session, SessionStore } from './sessions/session-store.js';
import type { AuthState, Authenticator } from './sessions/authenticator.js';
import type { AssertionSigner } from './forwarding/assertion.js';
import type { UpstreamProxy } from './forwarding/proxy.js';
import type { AccessTokens, ApiAuthenticator, CredentialStore } from './credentials/index.js';
import type { GatewayMetrics } from './audit/metrics.js';
import type { JobService } from './jobs/index.js';
import type { RateLimits } from './http/rate-limit.js';

/** Everything a request handler may need, built once by createGateway (dependencies passed in). */
export interface GatewayContext {
  config: Config;
  logger: Logger;
  db: Database;
  bus: InvalidationBus;
  trustMap: TrustMap;
  mappings: MappingRegistry;
  users: UserStore;
  jtis: JtiStore;
  login: LoginService;
  cookie: SessionCookie;
  sessions: SessionStore;
  sessionCache: InvalidatedCache<Session>;
  authStates: InvalidatedCache<AuthState>;
  authenticator: Authenticator;
  assertion: AssertionSigner;
  proxy: UpstreamProxy | null;
  /** API credentials: the store, `/oauth/token` access tokens, and the authenticator every API uses. */
  credentials: { store: CredentialStore; accessTokens: AccessTokens; auth: ApiAuthenticator };
  /** `rateLimits`: per client, per process (docs/operations.md#rate-limits). */
  rateLimits: RateLimits;
  /** Prometheus metrics of this gateway (served at `<basePath>/metrics`). */
  metrics: GatewayMetrics;
  /** Spans (a pass-through when tracing is off). */
  tracing: Tracing;
  /** The lifecycle jobs (deletion, profile): schedule, runs, admin runs. */
  jobs: JobService;
  now: () => number;
  /** Fetch for identity-side outbound calls (through `egress.proxy` when one applies). */
  egressFetch?: typeof fetch;
  /** Registers background work a route module started, stopped when the gateway closes. */
  onClose?: (stop: () => Promise<void>) => void;
}
