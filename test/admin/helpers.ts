import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import type { Scope } from '../../src/core/credentials/index.js';

export interface AdminGateway extends TestGateway {
  /** Bearer tokens: write (admin:write), read (admin:read), metrics (metrics:read), scim (no admin scope). */
  tokens: { write: string; read: string; metrics: string; scim: string };
  /** A call to `<basePath>/admin/v1<path>` with a JSON body and the write token unless another is given. */
  api(
    method: string,
    path: string,
    opts?: { body?: unknown; token?: string | null; contentType?: string },
  ): Promise<{ status: number; headers: Record<string, unknown>; text: string; json: () => any }>;
  /** Signs in through an SSO link; returns the session cookie. */
  login(claims?: Record<string, unknown>): Promise<string>;
}

export async function startAdminGateway(overrides: Record<string, unknown> = {}): Promise<AdminGateway> {
  const gw = await startTestGateway(overrides);
  const make = async (name: string, scopes: Scope[]) => (await gw.running.gateway.parts.credentials.store.create({ name, scopes })).token;
  const tokens = {
    write: await make('platform-team', ['admin:write']),
    read: await make('auditor', ['admin:read']),
    metrics: await make('prometheus', ['metrics:read']),
    scim: await make('entra', ['scim']),
  };
  return Object.assign(gw, {
    tokens,
    api: async (method: string, path: string, opts: { body?: unknown; token?: string | null; contentType?: string } = {}) => {
      const headers: Record<string, string> = {};
      const token = opts.token === undefined ? tokens.write : opts.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
      const r = await call(`${gw.url}/claimgate/admin/v1${path}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
      });
      return r as { status: number; headers: Record<string, unknown>; text: string; json: () => any };
    },
    login: async (claims: Record<string, unknown> = {}) => {
      const r = await call(`${gw.url}/claimgate/sso?jwt=${await gw.token(claims)}`);
      if (r.status !== 303) throw new Error(`login failed: ${r.status} ${r.text}`);
      const set = r.headers['set-cookie'];
      return String(Array.isArray(set) ? set[0] : set).split(';')[0]!;
    },
  });
}

/** Polls until `check` holds (ms budget), returning its last truthy value. */
export async function eventually<T>(ms: number, check: () => Promise<T | null | undefined | false>): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Row counts of the tables a preview must never write. */
export async function rowCounts(gw: TestGateway): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['users', 'user_grants', 'user_attributes', 'user_identities', 'sessions', 'audit_events', 'login_claims', 'used_jtis', 'mapping_versions']) {
    const r = (await gw.db.knex(t).count({ n: '*' }).first()) as { n: string | number };
    out[t] = Number(r.n);
  }
  return out;
}
