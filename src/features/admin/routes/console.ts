import { LineCounter, parseDocument, stringify } from 'yaml';
import { lineOf } from '../yaml-lines.js';
import { z } from 'zod';
import type { AdminDeps } from '../deps.js';
import { GatewayError } from '../../../core/errors/errors.js';
import { validateMappingDocument, type Claims } from '../../../core/mapping/index.js';
import { keyStatusOf } from '../../../core/tokens/key-status.js';
import type { MappingVersionStore } from '../mapping-store.js';
import { defineRoute, type AdminRoute } from '../route-table.js';
import { idParams, nameParams } from '../schemas.js';
import { resolveUser } from '../user-admin.js';
import { sessionRef } from '../session-ref.js';
import { recordAudit } from '../../../store/audit-log.js';

const problem = z.object({ path: z.string(), message: z.string(), line: z.number().int().nullable().describe('Line of the YAML text it points to, when known.') });
const HOUR = 3_600_000;

const parseJson = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);

/**
 * Mappings as YAML always in one key order (the database does not keep the order a document was saved in), so two
 * versions differ only where their content does, and the order reads like the documentation's examples.
 */
const KEY_ORDER = ['match', 'require', 'user', 'roles', 'permissions', 'attributes', 'sync', 'expr', 'message', 'from', 'when', 'map', 'pattern', 'to', 'add', 'default', 'ignoreCase', 'usercode'];
const rank = (k: unknown) => {
  const i = KEY_ORDER.indexOf(String(k));
  return i === -1 ? KEY_ORDER.length : i;
};
const toYaml = (doc: unknown) =>
  stringify(doc, { sortMapEntries: (a, b) => rank(a.key) - rank(b.key) || (String(a.key) < String(b.key) ? -1 : String(a.key) > String(b.key) ? 1 : 0) });

/**
 * Operations the console needs beyond the rest of the API: an overview in one call, a mapping as YAML text and its
 * validation as the person types, and the recent logins whose claims make good preview samples.
 */
export function consoleApiRoutes(deps: AdminDeps, store: MappingVersionStore): AdminRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/overview',
      tag: 'console',
      scope: 'admin:read',
      summary: 'Issuers with their key status and mapping, and sign-ins and refusals of the last 24 hours per hour and code',
      response: z.object({
        issuers: z.array(z.record(z.string(), z.unknown())),
        activity: z.object({ since: z.string(), hours: z.array(z.object({ hour: z.string(), signIns: z.number().int(), refusals: z.number().int() })), codes: z.record(z.string(), z.number().int()) }),
      }),
      handler: async () => {
        const stored = new Map((await store.allActive()).map((v) => [v.name, v]));
        const issuers = deps.config.issuers.map((i) => {
          const v = stored.get(i.mapping);
          const keys =
            i.sharedSecret !== undefined
              ? { kind: 'shared secret', lastFetchAt: null, lastErrorAt: null, lastError: null, keyIds: [] as string[] }
              : i.keys !== undefined
                ? { kind: 'configured keys', lastFetchAt: null, lastErrorAt: null, lastError: null, keyIds: (i.keys as { kid?: string }[]).map((k) => k.kid ?? '(no kid)') }
                : { kind: i.discovery ? 'discovery' : 'key set URL', ...(keyStatusOf(i.issuer) ?? { lastFetchAt: null, lastErrorAt: null, lastError: null, keyIds: [] }) };
          return { id: i.id, issuer: i.issuer, mapping: i.mapping, mappingVersion: v?.version ?? null, mappingSource: v ? 'database' : 'file', keys };
        });
        const now = deps.now();
        const since = new Date(Math.floor((now - 23 * HOUR) / HOUR) * HOUR);
        const rows = (await deps.knex('audit_events').whereIn('type', ['login', 'login_denied']).andWhere('at', '>=', since).orderBy('at', 'desc').limit(50_000).select('at', 'type', 'detail')) as {
          at: Date | string;
          type: string;
          detail: unknown;
        }[];
        const hours = Array.from({ length: 24 }, (_, k) => ({ hour: new Date(since.getTime() + k * HOUR).toISOString(), signIns: 0, refusals: 0 }));
        const codes = new Map<string, number>();
        for (const r of rows) {
          const slot = hours[Math.floor((new Date(r.at).getTime() - since.getTime()) / HOUR)];
          if (!slot) continue;
          if (r.type === 'login') {
            slot.signIns++;
            continue;
          }
          slot.refusals++;
          const code = (parseJson(r.detail) as { code?: unknown } | null)?.code;
          const key = typeof code === 'string' ? code : 'login_denied';
          codes.set(key, (codes.get(key) ?? 0) + 1);
        }
        return { issuers, activity: { since: since.toISOString(), hours, codes: Object.fromEntries(codes) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/mappings/:name/yaml',
      tag: 'console',
      scope: 'admin:read',
      summary: 'A mapping as YAML text: the one in force, a stored version (`version=N`) or the configuration file’s (`version=file`)',
      params: nameParams,
      query: z.strictObject({ version: z.string().regex(/^(file|[1-9][0-9]{0,8})$/).optional() }),
      response: z.object({ name: z.string(), version: z.number().int().nullable(), source: z.enum(['file', 'database']), hasFileMapping: z.boolean(), yaml: z.string() }),
      errors: [404],
      handler: async ({ params, query }) => {
        const file = Object.hasOwn(deps.config.mappings, params.name) ? deps.config.mappings[params.name] : undefined;
        const hasFileMapping = file !== undefined;
        const v =
          query.version === 'file' ? null : query.version !== undefined ? await store.get(params.name, Number(query.version)) : await store.active(params.name);
        if (v) return { name: params.name, version: v.version, source: 'database' as const, hasFileMapping, yaml: toYaml(v.document) };
        if (query.version !== undefined && query.version !== 'file') {
          throw new GatewayError('version_not_found', 404, `"${params.name}" has no version ${query.version}.`);
        }
        if (!file) throw new GatewayError('mapping_not_found', 404, `There is no mapping called "${params.name}".`);
        return { name: params.name, version: null, source: 'file' as const, hasFileMapping, yaml: toYaml(file) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/mappings/:name/validate',
      tag: 'console',
      scope: 'admin:read',
      summary: 'Check a mapping written as YAML with the same validator as a save; writes nothing',
      description: 'Answers every problem with its path and the line of the text it points to, and the mapping as JSON when it is valid.',
      params: nameParams,
      body: z.strictObject({ yaml: z.string().max(200_000) }),
      response: z.object({ valid: z.boolean(), problems: z.array(problem), mapping: z.record(z.string(), z.unknown()).nullable() }),
      handler: async ({ body }) => {
        const counter = new LineCounter();
        const doc = parseDocument(body.yaml, { prettyErrors: true, uniqueKeys: true, lineCounter: counter });
        if (doc.errors.length) {
          return {
            valid: false,
            problems: doc.errors.map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}` : '(yaml)', message: e.message.split('\n')[0]!, line: e.linePos?.[0].line ?? null })),
            mapping: null,
          };
        }
        const value = doc.toJS({ maxAliasCount: 50 }) as unknown;
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          return { valid: false, problems: [{ path: '(root)', message: 'a mapping is a YAML mapping of keys (user, roles, …)' }], mapping: null };
        }
        const { mapping, problems } = validateMappingDocument(value, '');
        return {
          valid: !!mapping,
          problems: problems.map((p) => ({ path: p.path, message: p.message, line: lineOf(doc, counter, p.path) })),
          mapping: mapping ? (value as Record<string, unknown>) : null,
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/users/:id/sessions/:ref',
      tag: 'users',
      scope: 'admin:write',
      summary: 'End one session of the user (its `ref` from the session list), on every instance within a second',
      params: idParams.extend({ ref: z.string().regex(/^[A-Za-z0-9_-]{22}$/) }),
      errors: [404],
      handler: async ({ params, actor }) => {
        const user = await resolveUser(deps, params.id);
        const session = (await deps.sessions.listForUser(user.id)).find((s) => sessionRef(s.idHash) === params.ref);
        if (!session) throw new GatewayError('session_not_found', 404, 'The user has no live session with this ref.');
        await deps.sessions.revoke(session.idHash);
        await deps.bus.publish({ kind: 'session', id: session.idHash });
        await recordAudit(deps.knex, { type: 'sessions_revoked', userId: user.id, usercode: user.usercode, actor, source: 'admin', detail: { ended: 1, ref: params.ref } });
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/mappings/:name/recent-logins',
      tag: 'console',
      scope: 'admin:read',
      summary: 'The latest logins through the issuers of this mapping, with their verified claims (preview samples)',
      params: nameParams,
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
      response: z.object({ items: z.array(z.object({ usercode: z.string().nullable(), userId: z.string().nullable(), issuer: z.string(), at: z.string(), claims: z.record(z.string(), z.unknown()) })), nextCursor: z.null() }),
      handler: async ({ params, query }) => {
        const issuers = deps.config.issuers.filter((i) => i.mapping === params.name).map((i) => i.id);
        if (!issuers.length) return { items: [], nextCursor: null };
        const rows = (await deps.knex('login_claims as c')
          .leftJoin('users as u', 'u.id', 'c.user_id')
          .whereIn('c.issuer_id', issuers)
          .orderBy('c.at', 'desc')
          .orderBy('c.id', 'desc')
          .limit(query.limit * 5)
          .select('c.user_id', 'c.issuer_id', 'c.at', 'c.claims', 'u.usercode')) as { user_id: string | null; issuer_id: string; at: Date | string; claims: unknown; usercode: string | null }[];
        const seen = new Set<string>();
        const items = [];
        for (const r of rows) {
          const key = r.user_id ?? `${r.issuer_id}:${String(r.at)}`;
          if (seen.has(key)) continue;
          seen.add(key);
          items.push({ usercode: r.usercode, userId: r.user_id, issuer: r.issuer_id, at: new Date(r.at).toISOString(), claims: parseJson(r.claims) as Claims });
          if (items.length >= query.limit) break;
        }
        return { items, nextCursor: null };
      },
    }),
  ];
}
