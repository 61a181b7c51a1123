import type { CompiledNameRule } from '../../core/mapping/compile.js';
import type { NameRule } from '../../core/mapping/schema.js';
import type { Config } from '../../core/config/schema.js';
import type { InvalidationBus } from '../../core/cache/invalidation.js';
import type { Logger } from '../../observability/logger.js';
import { scimGroupRolesSchema, scimUserRolesSchema } from '../../core/config/schema.js';
import { GatewayError } from '../../core/errors/errors.js';
import { MappingConfigError } from '../../core/mapping/errors.js';
import { compileUserRoles } from '../../core/scim/user-roles.js';
import { SCIM_ROLES_DOCUMENT, type MappingVersionStore, type MappingVersion } from './mapping-store.js';

export type GroupRoles = Record<string, string | string[]>;

/** The SCIM role rules in force in this process. */
export interface ScimRuleSet {
  version: number | null;
  source: 'file' | 'database';
  groupRoles: GroupRoles;
  userRoles: NameRule[];
  compiled: CompiledNameRule[];
}

/**
 * Validates a rules document with the configuration's own schemas and compiles its user rules; every problem is
 * reported with its path (`userRoles[0].from`).
 */
export function validateScimRoles(doc: { groupRoles?: unknown; userRoles?: unknown }): { groupRoles: GroupRoles; userRoles: NameRule[]; compiled: CompiledNameRule[] } {
  const problems: { path: string; message: string }[] = [];
  const g = scimGroupRolesSchema.safeParse(doc.groupRoles ?? {});
  const u = scimUserRolesSchema.safeParse(doc.userRoles ?? []);
  for (const [name, r] of [['groupRoles', g], ['userRoles', u]] as const) {
    if (!r.success) for (const i of r.error.issues) problems.push({ path: [name, ...i.path.map(String)].join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]'), message: i.message });
  }
  let compiled: CompiledNameRule[] = [];
  if (u.success) {
    try {
      compiled = compileUserRoles(u.data, 'userRoles');
    } catch (e) {
      if (!(e instanceof MappingConfigError)) throw e;
      problems.push(...e.problems.map((p) => ({ path: p.path, message: p.hint ? `${p.message} (${p.hint})` : p.message })));
    }
  }
  if (problems.length || !g.success || !u.success) {
    const lines = problems.map((p) => `${p.path}: ${p.message}`);
    throw new GatewayError('scim_roles_invalid', 400, `The SCIM role rules are invalid:\n${lines.join('\n')}`, { extra: { problems } });
  }
  return { groupRoles: g.data as GroupRoles, userRoles: u.data, compiled };
}

/**
 * Holds the SCIM role rules in force: the stored version when one is in force, else the configuration file's.
 * Follows `{ kind: 'mapping', id: '@scim-roles' }` on the invalidation bus (sent by whichever instance changed
 * them) and reloads everything after the listener reconnects, since messages sent meanwhile are lost.
 */
export class ScimRoleRules {
  private current: ScimRuleSet;
  private readonly file: ScimRuleSet;
  private unsubscribe: (() => void) | null = null;
  private chain: Promise<void> = Promise.resolve();
  readonly store: MappingVersionStore;

  constructor(private readonly deps: { config: Pick<Config, 'provisioning'>; bus: InvalidationBus; logger: Logger; store: MappingVersionStore }) {
    const cfg = deps.config.provisioning.scim;
    this.file = { version: null, source: 'file', groupRoles: cfg.groupRoles, userRoles: cfg.userRoles, compiled: compileUserRoles(cfg.userRoles) };
    this.current = this.file;
    this.store = deps.store;
  }

  get(): ScimRuleSet {
    return this.current;
  }

  async start(): Promise<void> {
    await this.load();
    this.unsubscribe ??= this.deps.bus.on((m) => {
      if ((m.kind === 'mapping' && m.id === SCIM_ROLES_DOCUMENT) || m.kind === 'all') void this.reload();
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Reloads from the database, chained so an older read never overwrites a newer one. */
  reload(): Promise<void> {
    this.chain = this.chain.then(() => this.load()).catch((e: unknown) => {
      this.deps.logger.warn('stored SCIM role rules not reloaded', { cause: e });
    });
    return this.chain;
  }

  /** Puts a version (or the file's rules, for null) in force in this process. */
  install(v: MappingVersion | null): void {
    if (!v) {
      this.current = this.file;
      return;
    }
    try {
      const r = validateScimRoles(v.document);
      this.current = { version: v.version, source: 'database', ...r };
    } catch (e) {
      // Validated when saved; a version this build cannot compile keeps the previous rules in force.
      this.deps.logger.error('stored SCIM role rules cannot be compiled; keeping the previous ones', { version: v.version, cause: e });
    }
  }

  private async load(): Promise<void> {
    this.install(await this.store.active(SCIM_ROLES_DOCUMENT));
  }
}
