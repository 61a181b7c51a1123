import type { Knex } from 'knex';
import type { Config } from '../../core/config/schema.js';
import type { InvalidationBus } from '../../core/cache/invalidation.js';
import type { CredentialStore } from '../../store/credentials.js';
import type { MappingRegistry } from '../../core/login/mapping-registry.js';
import type { SessionStore } from '../../store/sessions.js';
import type { TrustMap } from '../../core/tokens/index.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import type { Logger } from '../../observability/logger.js';
import type { DataDirLock } from '../../store/db/data-dir-lock.js';
import type { UserStore } from '../../store/users/index.js';
import type { AdminAuthDeps } from '../../web/admin-auth.js';

/** Who the inactivity step of the next deletion run would suspend (the lifecycle jobs answer it). */
export interface InactivityPreview {
  settings: { suspendAfterDays: number };
  cutoff(now: number): Date;
  preview(now: number, limit: number): Promise<{ id: string; usercode: string; userType: string; lastActivityAt: string | null; createdAt: string }[]>;
}

/** What the admin API, the metrics endpoint and the admin runtime use (built by the composition root). */
export interface AdminDeps extends AdminAuthDeps {
  config: Pick<Config, 'basePath' | 'publicUrl' | 'limits' | 'metrics' | 'logs' | 'issuers' | 'routes' | 'mappings' | 'provisioning' | 'console' | 'session'>;
  logger: Logger;
  knex: Knex;
  bus: InvalidationBus;
  trustMap: Pick<TrustMap, 'verify'>;
  mappings: MappingRegistry;
  users: Pick<UserStore, 'getById' | 'getByUsercode'>;
  sessions: Pick<SessionStore, 'listForUser' | 'revoke' | 'revokeForUser'>;
  credentials: AdminAuthDeps['credentials'] & { store: CredentialStore };
  metrics: GatewayMetrics;
  now: () => number;
  /** Fetch for identity-side outbound calls (group label lookups of the preview). */
  egressFetch?: typeof fetch;
  /** Jobs the admin API lists and runs besides its own request-log purge (the lifecycle jobs). */
  jobs: AdminJob[];
  /** The inactivity step of the deletion job, when `jobs.inactivity` is configured. */
  inactivity?: InactivityPreview;
  /** Set when this gateway owns an embedded data directory: it serves the CLI's admin commands on a local socket. */
  localSocket?: { lock: DataDirLock; dataDir: string };
}

/** A job the admin API can list and run on demand. */
export interface AdminJob {
  name: string;
  description: string;
  run(opts?: { actor: string; dryRun?: boolean }): Promise<Record<string, unknown>>;
  /** More fields for the list item (schedule, recorded runs of every instance); they win over the in-memory lastRun. */
  describe?(): Promise<Record<string, unknown>>;
}
