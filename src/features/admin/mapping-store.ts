import type { Knex } from 'knex';
import { mappingSchema, type MappingDefinition } from '../../core/mapping/index.js';

/** One saved version of a mapping. */
export interface MappingVersion {
  name: string;
  version: number;
  /** The document as it was sent (validated before it was stored). */
  document: Record<string, unknown>;
  createdAt: string;
  createdBy: string | null;
  rolledBackFrom: number | null;
}

interface VersionRow {
  name: string;
  version: number;
  definition: Record<string, unknown> | string;
  created_by: string | null;
  created_at: Date | string;
  rolled_back_from: number | null;
}

const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();

function toVersion(r: VersionRow): MappingVersion {
  return {
    name: r.name,
    version: Number(r.version),
    document: typeof r.definition === 'string' ? (JSON.parse(r.definition) as Record<string, unknown>) : r.definition,
    createdAt: iso(r.created_at),
    createdBy: r.created_by,
    rolledBackFrom: r.rolled_back_from === null ? null : Number(r.rolled_back_from),
  };
}

/**
 * Names outside the mapping name syntax hold other versioned documents in the same tables (the SCIM role rules),
 * so the admin API's mapping routes can never reach them and mapping listings leave them out.
 */
export const SCIM_ROLES_DOCUMENT = '@scim-roles';
export const isReservedDocument = (name: string): boolean => name.startsWith('@');

/** Parses a stored document into the definition the compiler takes (it was validated when saved). */
export function definitionOf(v: MappingVersion): MappingDefinition {
  return mappingSchema.parse(v.document);
}

/**
 * Mapping versions in the database. Versions are immutable; `mapping_heads` says which one is in force per name
 * (or none: the configuration file's mapping). A save locks the head row, so two concurrent saves of one name get
 * consecutive versions rather than a conflict.
 */
export class MappingVersionStore {
  constructor(
    private readonly knex: Knex,
    private readonly now: () => number = Date.now,
  ) {}

  /** The version in force for `name`, or null when the file's mapping (or nothing) applies. */
  async active(name: string): Promise<MappingVersion | null> {
    const row = (await this.knex('mapping_heads as h')
      .join('mapping_versions as v', (j) => j.on('v.name', 'h.name').andOn('v.version', 'h.version'))
      .where('h.name', name)
      .select('v.*')
      .first()) as VersionRow | undefined;
    return row ? toVersion(row) : null;
  }

  /** Every mapping name with a version in force (reserved documents left out). */
  async allActive(): Promise<MappingVersion[]> {
    const rows = (await this.knex('mapping_heads as h')
      .join('mapping_versions as v', (j) => j.on('v.name', 'h.name').andOn('v.version', 'h.version'))
      .whereNot('h.name', 'like', '@%')
      .select('v.*')
      .orderBy('v.name')) as VersionRow[];
    return rows.map(toVersion);
  }

  async get(name: string, version: number): Promise<MappingVersion | null> {
    const row = (await this.knex('mapping_versions').where({ name, version }).first()) as VersionRow | undefined;
    return row ? toVersion(row) : null;
  }

  /** Newest first. */
  async versions(name: string): Promise<MappingVersion[]> {
    const rows = (await this.knex('mapping_versions').where({ name }).orderBy('version', 'desc')) as VersionRow[];
    return rows.map(toVersion);
  }

  /** Writes the next version of `name` and puts it in force, in one transaction. */
  async save(
    name: string,
    document: Record<string, unknown>,
    opts: { createdBy: string | null; rolledBackFrom?: number; trx?: Knex.Transaction; onSaved?: (trx: Knex.Transaction, v: MappingVersion) => Promise<void> },
  ): Promise<MappingVersion> {
    return this.knex.transaction(async (trx) => {
      const at = new Date(this.now());
      await trx('mapping_heads').insert({ name, version: null, last_version: 0, updated_at: at }).onConflict('name').ignore();
      const head = (await trx('mapping_heads').where({ name }).forUpdate().first()) as { last_version: number };
      const version = Number(head.last_version) + 1;
      await trx('mapping_versions').insert({
        name,
        version,
        definition: JSON.stringify(document),
        created_by: opts.createdBy,
        created_at: at,
        rolled_back_from: opts.rolledBackFrom ?? null,
      });
      await trx('mapping_heads').where({ name }).update({ version, last_version: version, updated_by: opts.createdBy, updated_at: at });
      const saved = toVersion((await trx('mapping_versions').where({ name, version }).first()) as VersionRow);
      await opts.onSaved?.(trx, saved);
      return saved;
    });
  }

  /** Takes the stored versions out of force (the file's mapping applies again). False when none was in force. */
  async deactivate(name: string, opts: { by: string | null; onDone?: (trx: Knex.Transaction, was: number) => Promise<void> }): Promise<boolean> {
    return this.knex.transaction(async (trx) => {
      const head = (await trx('mapping_heads').where({ name }).forUpdate().first()) as { version: number | null } | undefined;
      if (!head || head.version === null) return false;
      await trx('mapping_heads').where({ name }).update({ version: null, updated_by: opts.by, updated_at: new Date(this.now()) });
      await opts.onDone?.(trx, Number(head.version));
      return true;
    });
  }
}
