import type { Knex } from 'knex';
import {
  createProvisionedUser,
  deleteProvisionedUser,
  inProvisioningTx,
  updateProvisionedUser,
  UsercodeTaken,
  type ProvisionedChanges,
  type WriteMeta,
} from '../../store/users/user-writer.js';
import type { ScimDeps } from './deps.js';
import { userFilterScope } from './filter-scopes.js';
import { listResponse, pagedQuery, type ListParams } from './list.js';
import { applyPatch } from './patch.js';
import { project, wants, type Projection } from './projection.js';
import { notFound, ScimError } from './scim-error.js';
import { USER_KIND } from './schema.js';
import { documentToChanges, USER_COLUMNS, USER_GROUPS_COLUMN, userDocument, userResource, type ScimUserRow } from './user-resource.js';
import { canonicalDocument, type JsonObject } from './values.js';
import { stableJson } from './stable-json.js';
import { recomputeScimRoles } from './group-roles.js';
import { enterpriseValues } from '../../core/scim/user-roles.js';

const duplicate = () => new ScimError(409, 'A user with this userName already exists.', 'uniqueness');
const isUniqueViolation = (e: unknown) => typeof e === 'object' && e !== null && (e as { code?: unknown }).code === '23505';

/** SCIM /Users over the gateway's user store. */
export class ScimUsers {
  constructor(private readonly deps: ScimDeps) {}

  private base(q: Knex | Knex.Transaction = this.deps.knex): Knex.QueryBuilder {
    return q('users as u').leftJoin('scim_users as s', 's.user_id', 'u.id');
  }

  private columns(q: Knex | Knex.Transaction, withGroups: boolean) {
    return q.raw(withGroups ? `${USER_COLUMNS}, ${USER_GROUPS_COLUMN}` : USER_COLUMNS);
  }

  private async load(id: string, q: Knex | Knex.Transaction = this.deps.knex, withGroups = true): Promise<ScimUserRow | undefined> {
    return (await this.base(q).select(this.columns(q, withGroups)).where('u.id', id).first()) as ScimUserRow | undefined;
  }

  /**
   * Every SCIM user carries the `scim` tag and, when configured, the identity system's name; the enterprise
   * extension fills the fields and attributes it is mapped to.
   */
  private channel(changes: ProvisionedChanges, doc: JsonObject): ProvisionedChanges {
    const ent = this.deps.enterprise ? enterpriseValues(doc, this.deps.enterprise) : { profile: {}, attributes: {} };
    const profile = { ...ent.profile, ...changes.profile, ...(this.deps.idpSource ? { idpSource: this.deps.idpSource } : {}) };
    return { ...changes, profile, addTags: ['scim'], ...(this.deps.enterprise ? { grants: { attributes: ent.attributes } } : {}) };
  }

  private meta(actor: string | null): WriteMeta {
    return { source: 'scim', actor, at: new Date(this.deps.now()) };
  }

  async list(params: ListParams, projection: Projection): Promise<JsonObject> {
    const { knex } = this.deps;
    const withGroups = wants(projection, 'groups');
    const { total, rows } = await pagedQuery<ScimUserRow>(
      this.base(),
      userFilterScope(),
      params,
      (q) => q.select(this.columns(knex, withGroups)),
      'u.id',
    );
    return listResponse(
      total,
      params.startIndex,
      rows.map((r) => project(userResource(r, this.deps.baseUrl), projection)),
    );
  }

  async get(id: string, projection: Projection): Promise<JsonObject> {
    const row = await this.load(id, this.deps.knex, wants(projection, 'groups'));
    if (!row) throw notFound('User');
    return project(userResource(row, this.deps.baseUrl), projection);
  }

  async create(body: unknown, actor: string | null): Promise<JsonObject> {
    const doc = canonicalDocument(USER_KIND, body);
    const { changes, attributes } = documentToChanges(doc, null);
    const id = await this.write(async (trx, touched) => {
      const c = this.channel(changes, doc);
      const r = await createProvisionedUser(trx, changes.usercode!, { profile: c.profile, lifecycle: c.lifecycle, addTags: c.addTags, grants: c.grants }, this.meta(actor));
      touched(r);
      await trx('scim_users').insert({ user_id: r.userId, attributes: JSON.stringify(attributes) });
      for (const x of await recomputeScimRoles(trx, this.deps, [r.userId], this.meta(actor))) touched(x);
      return r.userId;
    });
    return userResource((await this.load(id))!, this.deps.baseUrl);
  }

  /** PUT: the body is the whole resource; `active` left out keeps the lifecycle. */
  async replace(id: string, body: unknown, actor: string | null): Promise<JsonObject> {
    await this.write(async (trx, touched) => {
      const row = await this.lockAndLoad(trx, id);
      const doc = canonicalDocument(USER_KIND, body);
      await this.store(trx, touched, row, doc, actor);
    });
    return userResource((await this.load(id))!, this.deps.baseUrl);
  }

  async patch(id: string, body: unknown, actor: string | null): Promise<JsonObject> {
    await this.write(async (trx, touched) => {
      const row = await this.lockAndLoad(trx, id);
      const doc = applyPatch(USER_KIND, userDocument(row), body);
      await this.store(trx, touched, row, doc, actor);
    });
    return userResource((await this.load(id))!, this.deps.baseUrl);
  }

  async delete(id: string, actor: string | null): Promise<void> {
    const found = await this.write(async (trx, touched) => {
      const ok = await deleteProvisionedUser(trx, id, this.meta(actor));
      if (ok) touched({ userId: id, bumped: true });
      return ok;
    });
    if (!found) throw notFound('User');
  }

  private async lockAndLoad(trx: Knex.Transaction, id: string): Promise<ScimUserRow> {
    const locked = await trx('users').where({ id }).forUpdate().first('id');
    if (!locked) throw notFound('User');
    return (await this.load(id, trx, false))!;
  }

  /** Writes a whole document: profile, lifecycle and the SCIM-only attributes, only what differs. */
  private async store(
    trx: Knex.Transaction,
    touched: (r: { userId: string; bumped: boolean } | null) => void,
    row: ScimUserRow,
    doc: JsonObject,
    actor: string | null,
  ): Promise<void> {
    const { changes, attributes } = documentToChanges(doc, row.lifecycle);
    const meta = this.meta(actor);
    const r = await updateProvisionedUser(trx, row.id, this.channel(changes, doc), meta);
    touched(r);
    const stored = typeof row.scim_attributes === 'string' ? (JSON.parse(row.scim_attributes) as JsonObject) : row.scim_attributes;
    if (stableJson(stored ?? {}) !== stableJson(attributes)) {
      await trx('scim_users')
        .insert({ user_id: row.id, attributes: JSON.stringify(attributes) })
        .onConflict('user_id')
        .merge(['attributes']);
      if (!r?.bumped) await trx('users').where({ id: row.id }).update({ updated_at: meta.at });
    }
    // Roles follow every write of the resource, including a rule changed (stored, rolled back) since the last one.
    for (const x of await recomputeScimRoles(trx, this.deps, [row.id], meta)) touched(x);
  }

  private async write<T>(fn: (trx: Knex.Transaction, touched: (r: { userId: string; bumped: boolean } | null) => void) => Promise<T>): Promise<T> {
    try {
      return await inProvisioningTx(this.deps.knex, this.deps.publish, fn);
    } catch (e) {
      if (e instanceof UsercodeTaken || isUniqueViolation(e)) throw duplicate();
      throw e;
    }
  }
}
