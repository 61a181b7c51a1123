import type { Registry } from 'prom-client';
import type { Config } from '../../core/config/schema.js';
import type { Logger } from '../../observability/logger.js';
import type { Database } from '../../store/db/index.js';
import { JobLock } from '../../store/db/job-lock.js';
import type { Feature } from '../../web/feature.js';
import { AuditStreamer } from './audit-stream.js';

export { AuditStreamer } from './audit-stream.js';

/** What the audit stream uses (built by the composition root). */
export interface AuditStreamDeps {
  config: Pick<Config, 'audit'>;
  db: Database;
  logger: Logger;
  metrics: { registry: Registry };
}

/** Delivery of the audit trail to a SIEM (`audit.stream`), started with the gateway and stopped when it closes. */
export function createAuditStream(deps: AuditStreamDeps): Feature {
  const streamer = new AuditStreamer({ db: deps.db, config: deps.config.audit.stream, lock: new JobLock(deps.db), logger: deps.logger, registry: deps.metrics.registry });
  return {
    start: () => streamer.start(),
    close: () => streamer.close(),
  };
}
