import type { Knex } from 'knex';
import { ulid } from '../../core/ids.js';
import { recordAudit } from '../../store/audit-log.js';
import { inProvisioningTx, type WriteMeta, type WriteResult } from '../../store/users/user-writer.js';
import type { ScimDeps } from './deps.js';
import { groupFilterScope } from './filter-scopes.js';
import { recomputeScimRoles } from './group-roles.js';
import { rolesOfGroup } from '../../core/scim/user-roles.js';
import { listResponse, pagedQuery, type ListParams } from './list.js';
import { applyPatch } from './patch.js';
import { project, wants, type Projection } from './projection.js';
import { badRequest, notFound } from './scim-error.js';
import { GROUP_KIND, GROUP_SCHEMA } from './schema.js';
import { canonicalDocument, isObject, type JsonObject } from './values.js';

interface GroupRow {
  id: string;
  display_name: string;
  external_id: string | null;
  version: string | number;
  created_at: Date | string;
  updated_at: Date | string;
  members?: { value: string; display: string | null }[] | string | null;
}

const MEMBERS_COLUMN = `(SELECT coalesce(json_agg(json_build_object('value', gm.user_id, 'display', ud.display_name) ORDER BY gm.user_id), '[]'::json)
     FROM scim_group_members gm JOIN users ud ON ud.id = gm.user_id WHERE gm.group_id = g.id) AS members`;
const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();

type Touched = (r: WriteResult | null | undefined) => void;

/**
 * SCIM /Groups: a table of groups and one of memberships. A membership change recomputes the `scim` roles of the
 * users it touches (provisioning.scim.groupRoles), in the same transaction, so the app sees it at the next request.
 */
export class ScimGroups {
  constructor(private readonly deps: ScimDeps) {}

  private resource(row: GroupRow): JsonObject {
    const members = row.members === undefined ? undefined : typeof row.members === 'string' ? JSON.parse(row.members) : (row.members ?? []);
    return {
      schemas: [GROUP_SCHEMA],
      id: row.id,
      displayName: row.display_name,
      ...(row.external_id !== null ? { externalId: row.external_id } : {}),
      ...(members !== undefined
        ? {
            members: (members as { value: string; display: string | null }[]).map((m) => ({
              value: m.value,
              ...(m.display ? { display: m.display } : {}),
              $ref: `${this.deps.baseUrl}/Users/${m.value}`,
              type: 'User',
            })),
          }
        : {}),
      meta: {
        resourceType: 'Group',
        created: iso(row.created_at),
        lastModified: iso(row.updated_at),
        location: `${this.deps.baseUrl}/Groups/${row.id}`,
        version: `W/"${Number(row.version)}"`,
      },
    };
  }

  private select(q: Knex | Knex.Transaction, withMembers: boolean) {
    return q.raw(withMembers ? `g.*, ${MEMBERS_COLUMN}` : 'g.*');
  }

  private meta(actor: string | null): WriteMeta {
    return { source: 'scim', actor, at: new Date(this.deps.now()) };
  }

  async list(params: ListParams, projection: Projection): Promise<JsonObject> {
    const { knex } = this.deps;
    const withMembers = wants(projection, 'members');
    const { total, rows } = await pagedQuery<GroupRow>(
      knex('scim_groups as g'),
      groupFilterScope(),
      params,
      (q) => q.select(this.select(knex, withMembers)),
      'g.id',
    );
    return listResponse(total, params.startIndex, rows.map((r) => project(this.resource(r), projection)));
  }

  async get(id: string, projection: Projection): Promise<JsonObject> {
    const { knex } = this.deps;
    const row = (await knex('scim_groups as g').select(this.select(knex, wants(projection, 'members'))).where('g.id', id).first()) as
      | GroupRow
      | undefined;
    if (!row) throw notFound('Group');
    return project(this.resource(row), projection);
  }

  async create(body: unknown, actor: string | null): Promise<JsonObject> {
    const doc = canonicalDocument(GROUP_KIND, body);
    const { displayName, externalId, members } = this.fields(doc);
    const id = ulid();
    const meta = this.meta(actor);
    await inProvisioningTx(this.deps.knex, this.deps.publish, async (trx, touched) => {
      await trx('scim_groups').insert({ id, display_name: displayName, external_id: externalId, created_at: meta.at, updated_at: meta.at });
      await this.setMembers(trx, touched, { id, display_name: displayName, external_id: externalId }, new Set(), members, false, meta);
      await recordAudit(trx, { type: 'scim_group_created', actor, source: 'scim', at: meta.at, detail: { groupId: id, displayName, members: members.size } });
    });
    return this.get(id, { include: null, exclude: [] });
  }

  async replace(id: string, body: unknown, actor: string | null): Promise<JsonObject> {
    await this.update(id, actor, () => canonicalDocument(GROUP_KIND, body));
    return this.get(id, { include: null, exclude: [] });
  }

  async patch(id: string, body: unknown, actor: string | null): Promise<void> {
    await this.update(id, actor, (current) => applyPatch(GROUP_KIND, current, body));
  }

  async delete(id: string, actor: string | null): Promise<void> {
    const meta = this.meta(actor);
    const found = await inProvisioningTx(this.deps.knex, this.deps.publish, async (trx, touched) => {
      const row = (await trx('scim_groups').where({ id }).forUpdate().first()) as GroupRow | undefined;
      if (!row) return false;
      const members = (await trx('scim_group_members').where({ group_id: id }).pluck('user_id')) as string[];
      await trx('scim_groups').where({ id }).delete();
      for (const r of await recomputeScimRoles(trx, this.deps, members, meta)) touched(r);
      await recordAudit(trx, { type: 'scim_group_deleted', actor, source: 'scim', at: meta.at, detail: { groupId: id, displayName: row.display_name } });
      return true;
    });
    if (!found) throw notFound('Group');
  }

  private async update(id: string, actor: string | null, next: (current: JsonObject) => JsonObject): Promise<void> {
    const meta = this.meta(actor);
    await inProvisioningTx(this.deps.knex, this.deps.publish, async (trx, touched) => {
      const row = (await trx('scim_groups').where({ id }).forUpdate().first()) as GroupRow | undefined;
      if (!row) throw notFound('Group');
      const current = new Set((await trx('scim_group_members').where({ group_id: id }).pluck('user_id')) as string[]);
      const doc = next({
        displayName: row.display_name,
        ...(row.external_id !== null ? { externalId: row.external_id } : {}),
        members: [...current].map((value) => ({ value })),
      });
      const { displayName, externalId, members } = this.fields(doc);
      const renamed = displayName !== row.display_name || externalId !== row.external_id;
      const rolesChanged =
        renamed &&
        JSON.stringify(rolesOfGroup(this.deps.groupRoles, row.display_name, row.external_id).sort()) !==
          JSON.stringify(rolesOfGroup(this.deps.groupRoles, displayName, externalId).sort());
      // The group row first: the roles recomputed below read the new displayName and externalId.
      if (renamed) await trx('scim_groups').where({ id }).update({ display_name: displayName, external_id: externalId });
      const changed = await this.setMembers(trx, touched, { id, display_name: displayName, external_id: externalId }, current, members, rolesChanged, meta);
      if (renamed || changed) await trx('scim_groups').where({ id }).update({ version: trx.raw('version + 1'), updated_at: meta.at });
    });
  }

  /** Writes the member differences and recomputes the roles of everyone whose groups (or group roles) changed. */
  private async setMembers(
    trx: Knex.Transaction,
    touched: Touched,
    group: { id: string; display_name: string; external_id: string | null },
    before: Set<string>,
    after: Set<string>,
    rolesChanged: boolean,
    meta: WriteMeta,
  ): Promise<boolean> {
    const added = [...after].filter((m) => !before.has(m));
    const removed = [...before].filter((m) => !after.has(m));
    for (let i = 0; i < added.length; i += 500) {
      const chunk = added.slice(i, i + 500);
      const known = new Set((await trx('users').whereIn('id', chunk).pluck('id')) as string[]);
      const unknown = chunk.filter((m) => !known.has(m));
      if (unknown.length) throw badRequest('invalidValue', `No user has the id ${unknown.slice(0, 5).join(', ')} (members must be users).`);
      await trx('scim_group_members')
        .insert(chunk.map((user_id) => ({ group_id: group.id, user_id })))
        .onConflict()
        .ignore();
    }
    for (let i = 0; i < removed.length; i += 500) {
      await trx('scim_group_members').where({ group_id: group.id }).whereIn('user_id', removed.slice(i, i + 500)).delete();
    }
    const affected = rolesChanged ? [...after, ...removed] : [...added, ...removed];
    for (const r of await recomputeScimRoles(trx, this.deps, affected, meta)) touched(r);
    if (added.length || removed.length) {
      await recordAudit(trx, {
        type: 'scim_membership_change',
        actor: meta.actor,
        source: 'scim',
        at: meta.at,
        detail: { groupId: group.id, displayName: group.display_name, added: added.slice(0, 100), removed: removed.slice(0, 100), addedCount: added.length, removedCount: removed.length },
      });
    }
    return added.length > 0 || removed.length > 0;
  }

  private fields(doc: JsonObject): { displayName: string; externalId: string | null; members: Set<string> } {
    const displayName = doc.displayName;
    if (typeof displayName !== 'string' || displayName.trim() === '') throw badRequest('invalidValue', 'displayName is required.');
    const externalId = typeof doc.externalId === 'string' && doc.externalId !== '' ? doc.externalId : null;
    const members = new Set<string>();
    for (const m of Array.isArray(doc.members) ? doc.members : []) {
      const v = isObject(m) ? m.value : m;
      if (typeof v !== 'string' || v === '') throw badRequest('invalidValue', 'Every member needs a value (the user id).');
      members.add(v);
    }
    return { displayName, externalId, members };
  }
}
