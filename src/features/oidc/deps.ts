import type { Knex } from 'knex';
import type { Config } from '../../core/config/schema.js';
import type { InvalidationBus } from '../../core/cache/invalidation.js';
import type { InvalidatedCache } from '../../core/cache/invalidated-cache.js';
import type { TrustMap } from '../../core/tokens/index.js';
import type { LoginService } from '../../core/login/login-service.js';
import type { JtiStore } from '../../store/jti.js';
import type { Session } from '../../core/sessions/session.js';
import type { SessionStore } from '../../store/sessions.js';
import type { Authenticator } from '../../core/sessions/authenticator.js';
import type { Logger } from '../../observability/logger.js';
import type { PageNav } from '../../web/page-nav.js';
import type { SignIn } from '../../web/sign-in.js';
import type { OidcRuntime } from './runtime.js';

/** What the redirect login, back-channel logout, RP-initiated logout and session refresh use. */
export interface OidcDeps {
  config: Pick<Config, 'issuers' | 'publicUrl' | 'basePath' | 'session' | 'limits' | 'returnTo'>;
  logger: Logger;
  knex: Knex;
  bus: Pick<InvalidationBus, 'publish'>;
  trustMap: Pick<TrustMap, 'verify'>;
  login: Pick<LoginService, 'recordIdToken' | 'loginWithClaims'>;
  jtis: Pick<JtiStore, 'isUsed' | 'consume'>;
  sessions: Pick<SessionStore, 'revokeBySid' | 'revokeForUser' | 'claimRefresh' | 'mergeData' | 'revoke'>;
  sessionCache: Pick<InvalidatedCache<Session>, 'delete'>;
  /** Where the refresh scheduler watches the sessions requests use. */
  authenticator: Pick<Authenticator, 'observeSessions'>;
  signIn: Pick<SignIn, 'start'>;
  pageNav: PageNav;
  now: () => number;
  /** Fetch for the provider's endpoints (through `egress.proxy` when one applies). */
  fetch?: typeof fetch;
}

/** The dependencies plus the OIDC runtime built from them, as the flows of this folder receive them. */
export interface OidcEnv extends OidcDeps {
  rt: OidcRuntime;
}
