import type { FilterScope, SqlColumn } from './filter-sql.js';
import { findAttr, GROUP_KIND, resolvePath, USER_KIND, type AttrDef, type ResolvedAttr } from './schema.js';

/**
 * What SCIM attribute paths mean in SQL. Users are `users AS u` left-joined to `scim_users AS s` (the SCIM-only
 * attributes, jsonb); groups are `scim_groups AS g`. Columns with an index: `lower(u.usercode)` (userName),
 * `lower(u.email)` (emails), `u.idp_reference_id` (externalId), `lower(g.display_name)`, `g.external_id`.
 */

const col = (expr: string, type: SqlColumn['type'] = 'string', caseExact = false): SqlColumn => ({ expr, type, caseExact });
const key = (r: ResolvedAttr) => `${r.extension ? `${r.extension}:` : ''}${r.attr.name}${r.sub ? `.${r.sub.name}` : ''}`.toLowerCase();
const sqlType = (d: AttrDef): SqlColumn['type'] => (d.type === 'boolean' ? 'boolean' : d.type === 'dateTime' ? 'dateTime' : 'string');

/** A jsonb path literal such as `'{"urn:…:User","manager","value"}'`; names come from the schema table only. */
function jsonPath(parts: string[]): string {
  for (const p of parts) if (!/^[A-Za-z0-9:.$_-]+$/.test(p)) throw new Error(`unsafe attribute name ${p}`);
  return `'{${parts.map((p) => `"${p}"`).join(',')}}'`;
}

function aliases(): () => string {
  let n = 0;
  return () => `e${++n}`;
}

/** An entry scope over jsonb objects (`alias.v`): each sub-attribute is a key of the entry. */
function jsonEntryScope(attr: AttrDef, alias: string): FilterScope {
  return {
    column(path) {
      const sub = findAttr(attr.subAttributes, path);
      if (!sub) return null;
      const text = `(${alias}.v #>> ${jsonPath([sub.name])})`;
      return sub.type === 'boolean' ? col(`CAST(${text} AS boolean)`, 'boolean') : col(text, sqlType(sub), !!sub.caseExact);
    },
    entries: () => null,
  };
}

/** A scope whose sub-attributes are given columns; unknown ones are unfilterable. */
function fixedScope(columns: Record<string, SqlColumn>): FilterScope {
  return { column: (path) => columns[path.toLowerCase()] ?? null, entries: () => null };
}

function withSome(c: SqlColumn | null, some: (cond: string) => string): SqlColumn | null {
  return c ? { ...c, some } : null;
}

export function userFilterScope(): FilterScope {
  const next = aliases();
  const mapped: Record<string, SqlColumn> = {
    id: col('u.id', 'string', true),
    username: col('u.usercode'),
    externalid: col('u.idp_reference_id', 'string', true),
    displayname: col('u.display_name'),
    'name.givenname': col('u.first_name'),
    'name.familyname': col('u.last_name'),
    active: col(`(u.lifecycle = 'ACTIVE')`, 'boolean'),
    'meta.created': col('u.created_at', 'dateTime'),
    'meta.lastmodified': col('u.updated_at', 'dateTime'),
  };

  /** The stored address is the user's one e-mail, shown as the primary work address. */
  const emails = () => ({
    scope: fixedScope({ value: col('u.email'), type: col(`'work'`), primary: col('true', 'boolean'), display: col('NULL') }),
    some: (cond: string) => `(u.email IS NOT NULL AND ${cond})`,
  });
  const groups = () => {
    const m = next();
    return {
      scope: fixedScope({
        value: col(`${m}.group_id`, 'string', true),
        display: col(`(SELECT gd.display_name FROM scim_groups gd WHERE gd.id = ${m}.group_id)`),
        type: col(`'direct'`),
      }),
      some: (cond: string) => `EXISTS (SELECT 1 FROM scim_group_members ${m} WHERE ${m}.user_id = u.id AND ${cond})`,
    };
  };
  const jsonEntries = (r: ResolvedAttr) => {
    const e = next();
    const path = jsonPath(r.extension ? [r.extension, r.attr.name] : [r.attr.name]);
    return {
      scope: jsonEntryScope(r.attr, e),
      some: (cond: string) =>
        `EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(s.attributes #> ${path}) = 'array' THEN s.attributes #> ${path} ELSE '[]'::jsonb END) AS ${e}(v) WHERE ${cond})`,
    };
  };
  const entriesOf = (r: ResolvedAttr) => {
    if (!r.attr.multiValued) return null;
    const name = r.attr.name.toLowerCase();
    if (!r.extension && name === 'emails') return emails();
    if (!r.extension && name === 'groups') return groups();
    return jsonEntries(r);
  };

  return {
    column(path) {
      const r = resolvePath(USER_KIND, path);
      if (!r || r.attr.name === 'password') return null;
      const m = mapped[key(r)];
      if (m) return m;
      if (r.attr.multiValued) {
        const entries = entriesOf(r)!;
        return withSome(entries.scope.column(r.sub?.name ?? 'value'), entries.some);
      }
      if (r.attr.type === 'complex' && !r.sub) {
        const value = findAttr(r.attr.subAttributes, 'value');
        if (!value) return null;
        r.sub = value; // `manager eq "id"` means manager.value
      }
      if (!r.extension && r.attr.name === 'meta') return null;
      const parts = [...(r.extension ? [r.extension] : []), r.attr.name, ...(r.sub ? [r.sub.name] : [])];
      const def = r.sub ?? r.attr;
      const text = `(s.attributes #>> ${jsonPath(parts)})`;
      return def.type === 'boolean' ? col(`CAST(${text} AS boolean)`, 'boolean') : col(text, sqlType(def), !!def.caseExact);
    },
    entries(path) {
      const r = resolvePath(USER_KIND, path);
      return r && !r.sub ? entriesOf(r) : null;
    },
  };
}

export function groupFilterScope(): FilterScope {
  const next = aliases();
  const mapped: Record<string, SqlColumn> = {
    id: col('g.id', 'string', true),
    displayname: col('g.display_name'),
    externalid: col('g.external_id', 'string', true),
    'meta.created': col('g.created_at', 'dateTime'),
    'meta.lastmodified': col('g.updated_at', 'dateTime'),
  };
  const members = () => {
    const m = next();
    return {
      scope: fixedScope({
        value: col(`${m}.user_id`, 'string', true),
        display: col(`(SELECT ud.display_name FROM users ud WHERE ud.id = ${m}.user_id)`),
        type: col(`'User'`),
      }),
      some: (cond: string) => `EXISTS (SELECT 1 FROM scim_group_members ${m} WHERE ${m}.group_id = g.id AND ${cond})`,
    };
  };
  return {
    column(path) {
      const r = resolvePath(GROUP_KIND, path);
      if (!r) return null;
      const m = mapped[key(r)];
      if (m) return m;
      if (r.attr.name === 'members') {
        const e = members();
        return withSome(e.scope.column(r.sub?.name ?? 'value'), e.some);
      }
      return null;
    },
    entries(path) {
      const r = resolvePath(GROUP_KIND, path);
      return r && !r.sub && r.attr.name === 'members' ? members() : null;
    },
  };
}
