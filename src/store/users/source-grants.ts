import type { Knex } from 'knex';
import { recordAudit } from '../audit-log.js';
import type { AttributeChanges, GrantOrigin, NameChanges, SourceGrants, UserChanges } from '../../core/users/types.js';
import { dict, own } from '../../core/own-keys.js';

type Trx = Knex.Transaction;

const sortedUnique = (values: Iterable<string>) => [...new Set(values)].sort();

function diffNames(before: string[], after: string[]): NameChanges | undefined {
  const b = new Set(before);
  const a = new Set(after);
  const added = after.filter((n) => !b.has(n));
  const removed = before.filter((n) => !a.has(n));
  return added.length || removed.length ? { before, after, added, removed } : undefined;
}

/** What a source-grant write changed, and who to blame in the audit trail. */
export interface GrantContext {
  userId: string;
  usercode: string;
  source: string;
  actor: string | null;
  at: Date;
  /** Set when a mapping decided the grants (a login). */
  mapping?: GrantOrigin;
}

/**
 * Replaces what `source` gives the user (roles, permissions, attributes) with `desired`; other sources'
 * rows are untouched, and an omitted kind is left as it is. Only the differences are written, so an
 * unchanged set writes nothing. Every change is audited as `role_change` with before/after/added/removed.
 * Call inside the transaction that holds the user's row lock.
 */
export async function applySourceGrants(trx: Trx, ctx: GrantContext, desired: SourceGrants): Promise<Omit<UserChanges, 'profile'>> {
  const changes: Omit<UserChanges, 'profile'> = {};
  if (desired.roles || desired.permissions) {
    const rows = (await trx('user_grants')
      .where({ user_id: ctx.userId, source: ctx.source })
      .select('kind', 'name')) as { kind: 'role' | 'permission'; name: string }[];
    for (const kind of ['role', 'permission'] as const) {
      const wanted = kind === 'role' ? desired.roles : desired.permissions;
      if (!wanted) continue;
      const before = sortedUnique(rows.filter((r) => r.kind === kind).map((r) => r.name));
      const diff = diffNames(before, sortedUnique(wanted));
      if (!diff) continue;
      if (diff.removed.length) {
        await trx('user_grants').where({ user_id: ctx.userId, source: ctx.source, kind }).whereIn('name', diff.removed).delete();
      }
      if (diff.added.length) {
        await trx('user_grants')
          .insert(diff.added.map((name) => ({ user_id: ctx.userId, kind, name, source: ctx.source })))
          .onConflict()
          .ignore();
      }
      changes[kind === 'role' ? 'roles' : 'permissions'] = diff;
      await audit(trx, ctx, kind, { ...diff, ...grantedBy(ctx.mapping, kind, diff.added) });
    }
  }
  if (desired.attributes) {
    const diff = await replaceAttributes(trx, ctx, desired.attributes);
    if (diff) {
      changes.attributes = diff;
      const beforeNames = Object.keys(diff.before);
      const afterNames = Object.keys(diff.after);
      await audit(trx, ctx, 'attribute', {
        before: diff.before,
        after: diff.after,
        added: afterNames.filter((n) => !Object.hasOwn(diff.before, n)),
        removed: beforeNames.filter((n) => !Object.hasOwn(diff.after, n)),
        changed: diff.changed,
      });
    }
  }
  return changes;
}

async function replaceAttributes(trx: Trx, ctx: GrantContext, wanted: Record<string, string[]>): Promise<AttributeChanges | undefined> {
  const rows = (await trx('user_attributes')
    .where({ user_id: ctx.userId, source: ctx.source })
    .select('name', 'values')) as { name: string; values: string[] | string }[];
  const before = dict<string[]>();
  for (const r of rows) before[r.name] = typeof r.values === 'string' ? (JSON.parse(r.values) as string[]) : r.values;
  const after = dict<string[]>();
  for (const name of Object.keys(wanted).sort()) after[name] = sortedUnique((own(wanted, name) ?? []).map(String));

  const changed: string[] = [];
  const upserts: { user_id: string; source: string; name: string; values: string }[] = [];
  for (const [name, values] of Object.entries(after)) {
    if (JSON.stringify(before[name]) === JSON.stringify(values)) continue;
    changed.push(name);
    upserts.push({ user_id: ctx.userId, source: ctx.source, name, values: JSON.stringify(values) });
  }
  const removed = Object.keys(before).filter((n) => !Object.hasOwn(after, n));
  changed.push(...removed);
  if (changed.length === 0) return undefined;
  if (removed.length) {
    await trx('user_attributes').where({ user_id: ctx.userId, source: ctx.source }).whereIn('name', removed).delete();
  }
  if (upserts.length) {
    await trx('user_attributes').insert(upserts).onConflict(['user_id', 'source', 'name']).merge(['values']);
  }
  return { before, after, changed: changed.sort() };
}

/** The mapping version and, for each added name, the rules that produced it. */
function grantedBy(origin: GrantOrigin | undefined, kind: 'role' | 'permission', added: string[]): object {
  if (!origin) return {};
  const rules = kind === 'role' ? origin.rules.roles : origin.rules.permissions;
  const byName: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const n of added) if (Object.hasOwn(rules, n)) byName[n] = rules[n]!;
  return { mappingVersion: origin.version, grantedBy: { ...byName } };
}

async function audit(trx: Trx, ctx: GrantContext, kind: 'role' | 'permission' | 'attribute', detail: object): Promise<void> {
  await recordAudit(trx, {
    type: 'role_change',
    userId: ctx.userId,
    usercode: ctx.usercode,
    actor: ctx.actor,
    source: ctx.source,
    at: ctx.at,
    detail: { kind, source: ctx.source, ...detail },
  });
}
