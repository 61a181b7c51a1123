import type { Tracing } from '../observability/tracing.js';
import type { Config } from '../core/config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Database } from '../store/db/index.js';
import type { InvalidationBus } from '../core/cache/invalidation.js';
import type { InvalidatedCache } from '../core/cache/invalidated-cache.js';
import type { TrustMap } from '../core/tokens/index.js';
import type { UserStore } from '../store/users/index.js';
import type { LoginService } from '../core/login/login-service.js';
import type { MappingRegistry } from '../core/login/mapping-registry.js';
import type { JtiStore } from '../store/jti.js';
import type { SessionCookie } from '../core/sessions/cookie.js';
import type { Session, SessionStore } from '../store/sessions.js';
import type { AuthState, Authenticator } from '../core/sessions/authenticator.js';
import type { AssertionSigner } from '../core/identity/assertion.js';
import type { UpstreamProxy } from '../features/proxy/proxy.js';
import type { AccessTokens, ApiAuthenticator } from '../core/credentials/index.js';
import type { CredentialStore } from '../store/credentials.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { JobService } from '../features/jobs/index.js';
import type { RateLimits } from '../web/rate-limit.js';

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
