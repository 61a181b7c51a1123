import type { MappingDefinition } from '../mapping/schema.js';
import { compileMapping, type CompiledMapping } from '../mapping/index.js';

/** A mapping as the login pipeline uses it. */
export interface ActiveMapping {
  name: string;
  /** null for the configuration file's mapping; 1, 2, … for versions saved through the admin API. */
  version: number | null;
  source: 'file' | 'database';
  definition: MappingDefinition;
  compiled: CompiledMapping;
}

/**
 * The mappings in force. The configuration file gives the read-only base; versions stored in the database
 * override a name until deleted. Compiled once per version.
 */
export class MappingRegistry {
  private readonly fileMappings = new Map<string, ActiveMapping>();
  private readonly overrides = new Map<string, ActiveMapping>();

  constructor(file: Record<string, MappingDefinition>) {
    for (const [name, definition] of Object.entries(file)) {
      this.fileMappings.set(name, {
        name,
        version: null,
        source: 'file',
        definition,
        compiled: compileMapping(definition, `mappings.${name}`),
      });
    }
  }

  get(name: string): ActiveMapping | undefined {
    return this.overrides.get(name) ?? this.fileMappings.get(name);
  }

  fileMapping(name: string): ActiveMapping | undefined {
    return this.fileMappings.get(name);
  }

  names(): string[] {
    return [...new Set([...this.fileMappings.keys(), ...this.overrides.keys()])].sort();
  }

  /** Installs (or, with null, removes) a database-stored version of a mapping. */
  setOverride(name: string, stored: { version: number; definition: MappingDefinition } | null): void {
    if (!stored) {
      this.overrides.delete(name);
      return;
    }
    const current = this.overrides.get(name);
    if (current && current.version === stored.version) return;
    this.overrides.set(name, {
      name,
      version: stored.version,
      source: 'database',
      definition: stored.definition,
      compiled: compileMapping(stored.definition, `mappings.${name}`),
    });
  }
}
