import type { Logger } from '../../observability/logger.js';
import type { InvalidationBus } from '../../core/cache/invalidation.js';
import type { MappingRegistry } from '../../core/login/mapping-registry.js';
import { definitionOf, isReservedDocument, type MappingVersionStore } from './mapping-store.js';

/**
 * Keeps the registry of this process in step with the stored mapping versions: all of them at start, one name
 * on each `{ kind: 'mapping', id: name }` message (sent by whichever instance saved it), and all again after the
 * listener reconnects (`all`), since messages sent meanwhile are lost.
 */
export class MappingSync {
  private unsubscribe: (() => void) | null = null;
  /** Per-name reloads in flight, chained so an older read never overwrites a newer one. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: { store: MappingVersionStore; registry: MappingRegistry; bus: InvalidationBus; logger: Logger },
  ) {}

  async start(): Promise<void> {
    await this.reloadAll();
    this.unsubscribe = this.deps.bus.on((m) => {
      if (m.kind === 'mapping' && !isReservedDocument(m.id)) void this.reload(m.id);
      else if (m.kind === 'all') void this.reloadAll().catch((e) => this.deps.logger.warn('stored mappings not reloaded', { cause: e }));
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Reloads one name from the database; resolves when the registry holds what the database says. */
  reload(name: string): Promise<void> {
    const next = (this.chains.get(name) ?? Promise.resolve()).then(() => this.load(name)).catch((e) => {
      this.deps.logger.warn('stored mapping not reloaded', { mapping: name, cause: e });
    });
    this.chains.set(name, next);
    void next.then(() => {
      if (this.chains.get(name) === next) this.chains.delete(name);
    });
    return next;
  }

  async reloadAll(): Promise<void> {
    const active = await this.deps.store.allActive();
    const names = new Set(active.map((v) => v.name));
    for (const v of active) this.install(v.name, v);
    // Names whose stored versions were taken out of force while we did not hear about it.
    for (const name of this.deps.registry.names()) {
      if (!names.has(name) && this.deps.registry.get(name)?.source === 'database') this.deps.registry.setOverride(name, null);
    }
  }

  private async load(name: string): Promise<void> {
    this.install(name, await this.deps.store.active(name));
  }

  private install(name: string, v: Awaited<ReturnType<MappingVersionStore['active']>>): void {
    if (!v) {
      this.deps.registry.setOverride(name, null);
      return;
    }
    try {
      this.deps.registry.setOverride(name, { version: v.version, definition: definitionOf(v) });
    } catch (e) {
      // Validated when saved; a version this build cannot compile keeps the previous one in force.
      this.deps.logger.error('stored mapping version cannot be compiled; keeping the previous one', { mapping: name, version: v.version, cause: e });
    }
  }
}
