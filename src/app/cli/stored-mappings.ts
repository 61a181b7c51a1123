import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../../core/config/schema.js';
import { openDatabase } from '../../store/db/index.js';
import { liveLockOwner } from '../../store/db/data-dir-lock.js';
import { MappingVersionStore } from '../../features/admin/mapping-store.js';

/** What check-config learns from the database about mappings saved through the admin API. */
export type StoredMappings = { checked: true; versions: Map<string, number> } | { checked: false; why: string };

/**
 * The mapping versions in force in the database (they override the file's mapping of the same name). Reads only:
 * no migration, no embedded directory created, and a data directory owned by a running gateway is left alone.
 */
export async function storedMappings(config: Config): Promise<StoredMappings> {
  if (!config.database.url) {
    const dir = resolve(config.database.dataDir);
    if (!existsSync(dir)) return { checked: true, versions: new Map() };
    const owner = liveLockOwner(dir);
    if (owner) return { checked: false, why: `the embedded database is in use by process ${owner.pid} (${owner.command})` };
  }
  let db;
  try {
    db = await openDatabase({ ...config.database, connectionTimeoutMs: Math.min(config.database.connectionTimeoutMs, 5000) });
  } catch (e) {
    return { checked: false, why: `the database is not reachable (${(e as Error).message})` };
  }
  try {
    const active = await new MappingVersionStore(db.knex).allActive();
    return { checked: true, versions: new Map(active.map((v) => [v.name, v.version])) };
  } catch (e) {
    return { checked: false, why: `stored mappings not readable (${(e as Error).message.split('\n')[0]})` };
  } finally {
    await db.close();
  }
}
