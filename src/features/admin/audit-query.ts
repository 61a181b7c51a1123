import type { AuditRow } from '../../store/audit-log.js';
import type { Knex } from 'knex';
import type { z } from 'zod';
import { decodeCursor, page } from './cursor.js';
import type { auditQuery, requestLogQuery } from './schemas.js';

const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();
const json = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as Record<string, unknown>) : ((v ?? {}) as Record<string, unknown>));


/**
 * `GET …/audit`: newest first, keyset-paginated by id. `user` matches the user id or the usercode
 * (case-insensitive), so the trail of a deleted user is still found by name. `role` keeps the role and permission
 * changes that added or removed that name: with `user`, it answers "why does this user have this role".
 */
export async function queryAudit(knex: Knex, query: z.output<typeof auditQuery>) {
  const q = knex('audit_events').orderBy('id', 'desc').limit(query.limit + 1);
  if (query.cursor) q.where('id', '<', decodeCursor(query.cursor, ['int'] as const)[0]);
  if (query.type) q.whereIn('type', query.type.split(',').map((t) => t.trim()).filter(Boolean));
  if (query.user) {
    const u = query.user;
    q.where((w) => w.where('user_id', u).orWhereRaw('lower(usercode) = lower(?)', [u]));
  }
  if (query.role) {
    q.whereRaw(`(detail->'added' @> jsonb_build_array(?::text) OR detail->'removed' @> jsonb_build_array(?::text))`, [query.role, query.role]);
  }
  if (query.since) q.where('at', '>=', new Date(query.since));
  if (query.until) q.where('at', '<', new Date(query.until));
  const rows = (await q) as AuditRow[];
  const items = rows.map((r) => ({
    id: String(r.id),
    at: iso(r.at),
    type: r.type,
    userId: r.user_id,
    usercode: r.usercode,
    actor: r.actor,
    source: r.source,
    detail: json(r.detail),
  }));
  return page(items, query.limit, (last) => [Number(last.id)]);
}

interface RequestLogRow {
  id: string | number;
  at: Date | string;
  kind: 'request' | 'payload' | 'exception';
  request_id: string;
  method: string;
  path: string;
  status: number | null;
  client_ip: string | null;
  client: string | null;
  duration_ms: number | null;
  detail: unknown;
}

/** `GET …/request-logs`: newest first, keyset-paginated by id. */
export async function queryRequestLogs(knex: Knex, query: z.output<typeof requestLogQuery>) {
  const q = knex('request_logs').orderBy('id', 'desc').limit(query.limit + 1);
  if (query.cursor) q.where('id', '<', decodeCursor(query.cursor, ['int'] as const)[0]);
  if (query.kind) q.where('kind', query.kind);
  if (query.requestId) q.where('request_id', query.requestId);
  if (query.since) q.where('at', '>=', new Date(query.since));
  const rows = (await q) as RequestLogRow[];
  const items = rows.map((r) => ({
    id: String(r.id),
    at: iso(r.at),
    kind: r.kind,
    requestId: r.request_id,
    method: r.method,
    path: r.path,
    status: r.status === null ? null : Number(r.status),
    clientIp: r.client_ip,
    client: r.client,
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    detail: json(r.detail),
  }));
  return page(items, query.limit, (last) => [Number(last.id)]);
}
