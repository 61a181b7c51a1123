import { evaluateOptionsFor } from '../../core/config/presets.js';
import { resolveGroupLabels } from '../../core/idp/group-labels.js';
import { GatewayError } from '../../core/errors/errors.js';
import type { IssuerConfig, RouteConfig } from '../../core/config/schema.js';
import { authorize } from '../../core/upstream/route-rules.js';
import type { AdminDeps } from './deps.js';
import { evaluateMapping, MappingConfigError, validateMappingDocument, type Claims, type CompiledMapping, type MappingOutcome } from '../../core/mapping/index.js';
import { userToJson } from '../../store/users/index.js';
import { diffLogin, producedBy } from '../../store/users/preview.js';
import type { z } from 'zod';
import type { previewBody, previewRecentBody } from './schemas.js';
import { dict } from '../../core/own-keys.js';

/** Compiles an unsaved draft, or `400 mapping_invalid` with every problem and its path. */
export function compileDraft(doc: unknown): CompiledMapping {
  const { mapping, problems } = validateMappingDocument(doc, 'mapping');
  if (!mapping) throw new MappingConfigError(problems);
  return mapping;
}

function mappingInForce(deps: AdminDeps, name: string) {
  const m = deps.mappings.get(name);
  if (!m) throw new GatewayError('mapping_not_found', 404, `There is no mapping called "${name}".`);
  return m;
}

const issuersOf = (deps: AdminDeps, name: string) => deps.config.issuers.filter((i) => i.mapping === name);

/**
 * `POST …/mappings/:name/preview`: what a login with this token (verified, its jti not consumed) or these claims
 * would do, under the mapping in force or an unsaved draft. Reads only.
 */
export async function previewOne(deps: AdminDeps, name: string, body: z.output<typeof previewBody>) {
  const active = body.mapping === undefined ? mappingInForce(deps, name) : null;
  const compiled = body.mapping === undefined ? active!.compiled : compileDraft(body.mapping);
  let claims: Claims;
  let issuer: IssuerConfig | undefined;
  if (body.token !== undefined) {
    const verified = await deps.trustMap.verify(body.token);
    claims = verified.claims as Claims;
    issuer = verified.issuer;
  } else {
    claims = body.claims as Claims;
    issuer = body.issuer !== undefined ? deps.config.issuers.find((i) => i.id === body.issuer) : issuersOf(deps, name)[0];
    if (body.issuer !== undefined && !issuer) {
      throw new GatewayError('issuer_unknown', 400, `There is no issuer with id "${body.issuer}".`, {
        extra: { problems: [{ path: 'body.issuer', message: 'unknown issuer id' }] },
      });
    }
  }
  const source = `mapping:${issuer?.id ?? name}`;
  const outcome = evaluateMapping(compiled, claims, evaluateOptionsFor(issuer));
  const mapping = {
    name,
    version: body.mapping === undefined ? active!.version : null,
    source: body.mapping === undefined ? active!.source : 'draft',
  };
  const labels = await resolveGroupLabels(compiled, claims, issuer, deps.egressFetch);
  const base = {
    mapping,
    issuer: issuer?.id ?? null,
    allowed: outcome.allowed,
    trace: outcome.trace,
    ...(Object.keys(labels).length > 0 ? { groupLabels: labels } : {}),
  };
  if (!outcome.allowed) {
    return { ...base, denied: { code: outcome.code, rule: outcome.rule, message: outcome.message }, desired: null, current: null, diff: null, producedBy: null };
  }
  const current = await deps.users.getByUsercode(body.user ?? outcome.user.usercode);
  const { sync: _sync, ...desired } = outcome.user;
  return {
    ...base,
    desired,
    current: current ? userToJson(current) : null,
    diff: diffLogin(current, outcome.user, source),
    producedBy: { roles: producedBy(outcome.trace, 'roles'), permissions: producedBy(outcome.trace, 'permissions') },
  };
}

interface Grants {
  allowed: boolean;
  roles: string[];
  permissions: string[];
}

const grantsOf = (o: MappingOutcome | null): Grants =>
  !o || !o.allowed ? { allowed: false, roles: [], permissions: [] } : { allowed: true, roles: [...o.user.roles].sort(), permissions: [...o.user.permissions].sort() };

const minus = (a: string[], b: string[]) => a.filter((x) => !b.includes(x));

/** A route rule as the preview names it: its path, and its methods when it is limited to some. */
const ruleName = (r: RouteConfig) => (r.methods?.length ? `${r.methods.join(',')} ${r.path}` : r.path);

/**
 * Route rules whose decision differs between two sets of grants. Losing the role a route needs leaves sign-in
 * access as it was, so it shows here, not in `access`. Only the mapping's own grants are compared: roles from
 * other sources (SCIM, the admin API) are the same on both sides.
 */
function routeChanges(rules: readonly RouteConfig[], before: Grants, after: Grants): { gained: string[]; lost: string[] } {
  const gained: string[] = [];
  const lost: string[] = [];
  for (const rule of rules) {
    if (rule.public || !(rule.anyRole || rule.allRoles || rule.anyPermission)) continue;
    const was = before.allowed && authorize(rule, before) === 'allow';
    const will = after.allowed && authorize(rule, after) === 'allow';
    if (was !== will) (will ? gained : lost).push(ruleName(rule));
  }
  return { gained, lost };
}

/**
 * `POST …/mappings/:name/preview-recent`: replays the claims of the last `limit` logins through the issuers of
 * this mapping (the newest login per user) under both the mapping in force and the draft, and reports who would
 * gain or lose which role or permission, or access itself. Reads only.
 */
export async function previewRecent(deps: AdminDeps, name: string, body: z.output<typeof previewRecentBody>) {
  const draft = compileDraft(body.mapping);
  const active = deps.mappings.get(name);
  const issuers = issuersOf(deps, name).map((i) => i.id);
  const rows = issuers.length
    ? ((await deps.knex('login_claims as c')
        .leftJoin('users as u', 'u.id', 'c.user_id')
        .whereIn('c.issuer_id', issuers)
        .orderBy('c.at', 'desc')
        .orderBy('c.id', 'desc')
        .limit(body.limit)
        .select('c.user_id', 'c.issuer_id', 'c.at', 'c.claims', 'u.usercode')) as {
        user_id: string | null;
        issuer_id: string;
        at: Date | string;
        claims: Claims | string;
        usercode: string | null;
      }[])
    : [];
  const seen = new Set<string>();
  const items = [];
  const summary = {
    roles: dict<{ gained: string[]; lost: string[] }>(),
    permissions: dict<{ gained: string[]; lost: string[] }>(),
    routes: dict<{ gained: string[]; lost: string[] }>(),
  };
  for (const r of rows) {
    const key = r.user_id ?? `${r.issuer_id}:${String(r.at)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const claims = typeof r.claims === 'string' ? (JSON.parse(r.claims) as Claims) : r.claims;
    const before = grantsOf(active ? evaluateMapping(active.compiled, claims) : null);
    const afterOutcome = evaluateMapping(draft, claims);
    const after = grantsOf(afterOutcome);
    const who = r.usercode ?? (afterOutcome.allowed ? afterOutcome.user.usercode : null) ?? r.user_id ?? '?';
    const roles = { gained: minus(after.roles, before.roles), lost: minus(before.roles, after.roles) };
    const permissions = { gained: minus(after.permissions, before.permissions), lost: minus(before.permissions, after.permissions) };
    const access = before.allowed === after.allowed ? 'unchanged' : after.allowed ? 'gained' : 'lost';
    const routes = routeChanges(deps.config.routes, before, after);
    for (const [kind, d] of [
      ['roles', roles],
      ['permissions', permissions],
      ['routes', routes],
    ] as const) {
      for (const n of d.gained) (summary[kind][n] ??= { gained: [], lost: [] }).gained.push(who);
      for (const n of d.lost) (summary[kind][n] ??= { gained: [], lost: [] }).lost.push(who);
    }
    const changed =
      access !== 'unchanged' ||
      roles.gained.length + roles.lost.length + permissions.gained.length + permissions.lost.length + routes.gained.length + routes.lost.length > 0;
    items.push({
      userId: r.user_id,
      usercode: who,
      issuer: r.issuer_id,
      loginAt: (r.at instanceof Date ? r.at : new Date(r.at)).toISOString(),
      changed,
      access,
      roles,
      permissions,
      routes,
      before,
      after,
    });
  }
  return {
    mapping: { name, version: active?.version ?? null, source: active?.source ?? null },
    issuers,
    logins: rows.length,
    users: items.length,
    changedUsers: items.filter((i) => i.changed).length,
    summary,
    items,
  };
}
