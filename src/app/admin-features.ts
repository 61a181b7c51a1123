import type { Config } from '../core/config/schema.js';
import type { InvalidationBus } from '../core/cache/invalidation.js';
import type { Logger } from '../observability/logger.js';
import type { Tracing } from '../observability/tracing.js';
import type { Database } from '../store/db/index.js';
import type { Feature } from '../web/feature.js';
import type { GatewayParts } from './parts.js';
import { createAdmin } from '../features/admin/index.js';
import { createAuditStream } from '../features/audit-stream/index.js';
import { createConsole } from '../features/console/index.js';
import { createEvents, FullSyncStep } from '../features/events/index.js';
import { createJobs, createJobService, inactivityStep, lifecycleAdminJobs, type JobClock, type JobService } from '../features/jobs/index.js';
import { createScim } from '../features/scim/index.js';
import { createSync } from '../features/sync/index.js';

/** The parts of the gateway the provisioning and administration features are built from (see createGateway). */
export type AdminFeatureParts = Pick<
  GatewayParts,
  | 'config' | 'logger' | 'db' | 'bus' | 'trustMap' | 'mappings' | 'users' | 'cookie' | 'sessions' | 'authenticator'
  | 'credentials' | 'rateLimits' | 'metrics' | 'jobs' | 'now' | 'egressFetch' | 'tracing'
>;

/** How these features run in this gateway. */
export interface AdminFeatureOptions {
  /** The gateway opened its database itself: with an embedded data directory, it serves the CLI's admin commands. */
  ownsDb?: boolean;
  /** Nothing is scheduled (the lifecycle jobs still run through the admin API). */
  jobsDisabled?: boolean;
}

/**
 * The lifecycle jobs (deletion, profile) over the gateway's database, with the change events' full-push
 * reconciliation as a step of the deletion run when `provisioning.events.fullSync` is set.
 */
export function buildJobService(deps: {
  config: Config;
  db: Database;
  logger: Logger;
  bus: InvalidationBus;
  clock?: JobClock;
  tracing?: Tracing;
  fetch?: typeof fetch;
}): JobService {
  const onUserChanged = (id: string) => void deps.bus.publish({ kind: 'user', id });
  const events = deps.config.provisioning.events;
  return createJobService({
    config: deps.config,
    db: deps.db,
    logger: deps.logger,
    clock: deps.clock,
    tracing: deps.tracing,
    fetch: deps.fetch,
    onUserChanged,
    fullSync: events?.fullSync ? new FullSyncStep({ knex: deps.db.knex, config: events, onUserChanged }) : undefined,
  });
}

/**
 * The admin API (with its runtime and local socket), the web console, SCIM, the sync API, the change events, the
 * lifecycle job schedule and the audit stream, each given only what it uses. Mounted in this order; started in
 * this order (the admin capability first: stored mappings and SCIM role rules are in force before anything else).
 */
export function buildAdminFeatures(parts: AdminFeatureParts, extra: AdminFeatureOptions = {}): Feature[] {
  const { config, db } = parts;
  const knex = db.knex;
  const admin = createAdmin({
    config,
    logger: parts.logger,
    knex,
    bus: parts.bus,
    trustMap: parts.trustMap,
    mappings: parts.mappings,
    users: parts.users,
    cookie: parts.cookie,
    authenticator: parts.authenticator,
    sessions: parts.sessions,
    credentials: parts.credentials,
    metrics: parts.metrics,
    now: parts.now,
    egressFetch: parts.egressFetch,
    jobs: lifecycleAdminJobs(parts.jobs),
    inactivity: inactivityStep({ config, db }),
    localSocket: extra.ownsDb && db.dataDirLock ? { lock: db.dataDirLock, dataDir: config.database.dataDir } : undefined,
  });
  return [
    admin,
    createScim({ config, knex, bus: parts.bus, credentials: parts.credentials, logger: parts.logger, now: parts.now, roleRules: admin.scimRoles }),
    createSync({ config, knex, bus: parts.bus, credentials: parts.credentials, now: parts.now }),
    createEvents({ config, knex, bus: parts.bus, logger: parts.logger, metrics: parts.metrics, rateLimits: parts.rateLimits, now: parts.now, tracing: parts.tracing }),
    createConsole({ config, authenticator: parts.authenticator }),
    createJobs({ jobs: parts.jobs, disabled: extra.jobsDisabled }),
    createAuditStream({ config, db, logger: parts.logger, metrics: parts.metrics }),
  ];
}

/**
 * Starts the features in order; when one fails, those already started are closed again and the error thrown.
 * Answers the function that closes them all, in reverse order.
 */
export async function startFeatures(features: readonly Feature[]): Promise<() => Promise<void>> {
  const started: Feature[] = [];
  const closeAll = async () => {
    for (const f of started.splice(0).reverse()) await f.close?.();
  };
  try {
    for (const f of features) {
      started.push(f);
      await f.start?.();
    }
  } catch (e) {
    await closeAll().catch(() => undefined);
    throw e;
  }
  return closeAll;
}
