import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call } from '../helpers/gateway.js';
import { eventually, startAdminGateway, type AdminGateway } from './helpers.js';
import { freePort } from '../helpers/ports.js';

const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

describe(`admin API: audit trail, request logs, tokens, jobs, OpenAPI, metrics (${db})`, () => {
  let gw: AdminGateway;
  beforeAll(async () => {
    gw = await startAdminGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('the audit trail answers "why does this user have this role"', async () => {
    await gw.login({ preferred_username: 'ada', sub: 'u-ada', groups: ['bi-analysts'] });
    await gw.login({ preferred_username: 'ada', sub: 'u-ada', groups: ['bi-analysts', 'bi-admins'] });
    await gw.api('PATCH', '/users/ada', { body: { adminRoles: ['finance_viewer'] } });
    const denied = await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ preferred_username: 'ada', sub: 'u-ada', email_verified: false })}`);
    expect(denied.status).toBe(403);
    await gw.api('PATCH', '/users/ada', { body: { lifecycle: 'SUSPENDED' } });

    const why = (await gw.api('GET', '/audit?user=ada&role=admin', { token: gw.tokens.read })).json();
    expect(why.items).toHaveLength(1);
    expect(why.items[0]).toMatchObject({
      type: 'role_change',
      usercode: 'ada',
      source: 'mapping:corp',
      detail: { kind: 'role', source: 'mapping:corp', before: ['analyst'], after: ['admin', 'analyst'], added: ['admin'], removed: [] },
    });
    const finance = (await gw.api('GET', '/audit?user=ADA&role=finance_viewer')).json();
    expect(finance.items[0]).toMatchObject({ source: 'admin', actor: 'admin:platform-team', detail: { added: ['finance_viewer'] } });

    const id = (await gw.api('GET', '/users/ada')).json().id as string;
    const types = (await gw.api('GET', `/audit?user=${id}`)).json().items.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['user_created', 'role_change', 'lifecycle_change']));
    const denials = (await gw.api('GET', '/audit?type=login_denied')).json().items;
    expect(denials[0]).toMatchObject({ type: 'login_denied', detail: { rule: 'require[0]', code: 'login_denied' } });
    const lifecycle = (await gw.api('GET', '/audit?type=lifecycle_change&user=ada')).json().items[0];
    expect(lifecycle).toMatchObject({ actor: 'admin:platform-team', source: 'admin', detail: { before: 'ACTIVE', after: 'SUSPENDED' } });

    expect((await gw.api('GET', `/audit?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).json().items).toEqual([]);
    const p1 = (await gw.api('GET', '/audit?limit=2')).json();
    const p2 = (await gw.api('GET', `/audit?limit=2&cursor=${p1.nextCursor}`)).json();
    expect(Number(p2.items[0].id)).toBeLessThan(Number(p1.items[1].id));
    expect((await gw.api('GET', '/audit?since=yesterday')).json()).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('tokens: create (shown once), list, revoke (immediate), all audited', async () => {
    const created = await gw.api('POST', '/tokens', { body: { name: 'ci-bot', scopes: ['admin:read'], expiresIn: '30d' } });
    expect(created.status).toBe(201);
    const c = created.json();
    expect(c).toMatchObject({ name: 'ci-bot', scopes: ['admin:read'], createdBy: 'admin:platform-team' });
    expect(c.token).toMatch(/^cg_/);
    expect(Date.parse(c.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect((await gw.api('GET', '/users', { token: c.token })).status).toBe(200);

    const listed = (await gw.api('GET', '/tokens', { token: gw.tokens.read })).json();
    expect(listed.items.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['ci-bot', 'platform-team', 'auditor']));
    expect(JSON.stringify(listed)).not.toContain(c.token);
    expect(JSON.stringify(listed)).not.toContain(c.clientSecret);

    expect((await gw.api('POST', '/tokens', { body: { name: 'ci-bot', scopes: ['admin:read'] } })).json().code).toBe('credential_exists');
    expect((await gw.api('POST', '/tokens', { body: { name: 'x', scopes: ['root'] } })).json().code).toBe('invalid_request');
    expect((await gw.api('POST', '/tokens', { body: { name: 'x', scopes: ['scim'] }, token: gw.tokens.read })).status).toBe(403);

    expect((await gw.api('DELETE', '/tokens/ci-bot')).status).toBe(204);
    expect((await gw.api('GET', '/users', { token: c.token })).json()).toMatchObject({ status: 401, code: 'invalid_token' });
    expect((await gw.api('DELETE', '/tokens/ci-bot')).json().code).toBe('credential_not_found');
    expect((await gw.api('GET', '/tokens?includeRevoked=true')).json().items.find((t: { name: string }) => t.name === 'ci-bot').revokedAt).not.toBeNull();
    const trail = (await gw.api('GET', '/audit?type=credential_created,credential_revoked')).json().items;
    expect(trail.map((e: { type: string; detail: { name: string } }) => `${e.type}:${e.detail.name}`)).toEqual(['credential_revoked:ci-bot', 'credential_created:ci-bot']);
  });

  it('request-log rows are written for API and token calls, masked, and never for /sso or app traffic', async () => {
    const secretPassword = 'Sup3r-S3cret-Passw0rd-xyz';
    const created = (await gw.api('POST', '/tokens', { body: { name: 'logger-test', scopes: ['admin:read'] } })).json();
    const bearer = created.token as string;
    // A token request with the client secret in the form body.
    const tok = await call(`${gw.url}/claimgate/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${created.clientId}&client_secret=${encodeURIComponent(created.clientSecret)}`,
    });
    expect(tok.status).toBe(200);
    const accessToken = tok.json().access_token as string;
    // An admin call carrying secrets in the body, a query secret and the access token.
    const jwt = await gw.token({ preferred_username: 'zed', sub: 'u-zed' });
    const preview = await call(`${gw.url}/claimgate/admin/v1/mappings/corp/preview?token=${jwt}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', cookie: 'claimgate_session=cookie-value-123' },
      body: JSON.stringify({ token: jwt, claims: { sub: 'u-zed', password: secretPassword } }),
    });
    expect(preview.status).toBe(400);
    await gw.api('GET', '/users', { token: bearer });
    const ssoCookie = await gw.login({ preferred_username: 'yan', sub: 'u-yan' });
    await call(`${gw.url}/some/app/page?token=abc`, { headers: { cookie: ssoCookie } });

    // Rows are written after each answer, and the earlier tests' calls left rows too: wait for this test's own.
    const rows = await eventually(3000, async () => {
      const r = (await gw.db.knex('request_logs').select('*')) as Record<string, unknown>[];
      const has = (path: string, client?: string) => r.some((x) => x.kind === 'request' && x.path === path && (client === undefined || x.client === client));
      return has('/claimgate/oauth/token') && has('/claimgate/admin/v1/mappings/:name/preview', 'logger-test') && has('/claimgate/admin/v1/users', 'logger-test') && r;
    });
    const dump = JSON.stringify(rows);
    for (const secret of [bearer, created.clientSecret, accessToken, jwt, secretPassword, 'cookie-value-123', ...gw.tokens.write.split(' ')]) {
      expect(dump).not.toContain(secret);
    }
    expect(dump).not.toContain('/sso');
    expect(dump).not.toContain('/some/app/page');

    const reqRows = rows.filter((r) => r.kind === 'request');
    const tokenRow = reqRows.find((r) => r.path === '/claimgate/oauth/token')!;
    // The client id is a stable hash prefix, never the id itself.
    expect(tokenRow).toMatchObject({ method: 'POST', status: 200, client: expect.stringMatching(/^client:[0-9a-f]{12}$/) });
    expect(dump).not.toContain(created.clientId);
    const previewRow = reqRows.find((r) => r.path === '/claimgate/admin/v1/mappings/:name/preview')!;
    expect(previewRow).toMatchObject({ status: 400, client: 'logger-test' });
    expect(previewRow.detail).toEqual({ query: { token: '[redacted]' } });
    expect(Number(previewRow.duration_ms)).toBeGreaterThanOrEqual(0);
    const payload = rows.find((r) => r.kind === 'payload' && r.request_id === previewRow.request_id)!;
    const detail = (typeof payload.detail === 'string' ? JSON.parse(payload.detail) : payload.detail) as any;
    expect(detail.request.body).toEqual({ token: '[redacted]', claims: { sub: '[redacted]', password: '[redacted]' } });
    expect(detail.request.headers).toMatchObject({ 'content-type': 'application/json' });
    expect(Object.keys(detail.request.headers).sort()).toEqual(['content-length', 'content-type']);
    expect(detail.response.body).toMatchObject({ code: 'invalid_request', status: 400 });
    const tokenPayload = rows.find((r) => r.kind === 'payload' && r.request_id === tokenRow.request_id)!;
    expect(JSON.stringify(tokenPayload.detail)).toContain('"access_token":"[redacted]"');

    // Through the API, newest first, filtered by kind.
    const api = (await gw.api('GET', '/request-logs?kind=request&limit=50', { token: gw.tokens.read })).json();
    expect(api.items.length).toBeGreaterThanOrEqual(4);
    expect(api.items.every((i: { kind: string }) => i.kind === 'request')).toBe(true);
    const byId = (await gw.api('GET', `/request-logs?requestId=${String(previewRow.request_id)}`)).json();
    expect(byId.items.map((i: { kind: string }) => i.kind).sort()).toEqual(['payload', 'request']);
  });

  it('an unhandled error writes an exception row with its detail', async () => {
    const spy = gw.running.gateway.parts.credentials.store;
    const original = spy.list.bind(spy);
    spy.list = async () => {
      throw new Error('database on fire (token=cg_should-not-appear-anywhere-1234567890)');
    };
    try {
      const r = await gw.api('GET', '/tokens');
      expect(r.status).toBe(500);
      expect(r.text).not.toContain('fire');
    } finally {
      spy.list = original;
    }
    const row = await eventually(3000, async () => (await gw.db.knex('request_logs').where({ kind: 'exception' }).first()) as Record<string, unknown> | undefined);
    const detail = JSON.stringify(row.detail);
    expect(detail).toContain('database on fire');
    expect(detail).not.toContain('cg_should-not-appear');
    expect(row).toMatchObject({ status: 500, path: '/claimgate/admin/v1/tokens' });
  });

  it('jobs: the request-log purge can be listed and run', async () => {
    const jobs = (await gw.api('GET', '/jobs', { token: gw.tokens.read })).json();
    expect(jobs.items.map((j: { name: string }) => j.name)).toContain('request-log-purge');
    await gw.db.knex('request_logs').insert({ at: new Date(Date.now() - 400 * 86_400_000), kind: 'request', request_id: 'old', method: 'GET', path: '/x' });
    expect((await gw.api('POST', '/jobs/request-log-purge/run', { token: gw.tokens.read })).status).toBe(403);
    const run = (await gw.api('POST', '/jobs/request-log-purge/run')).json();
    expect(run).toMatchObject({ name: 'request-log-purge', result: { deleted: 1 } });
    expect(await gw.db.knex('request_logs').where({ request_id: 'old' }).first()).toBeUndefined();
    expect((await gw.api('POST', '/jobs/nope/run')).json().code).toBe('job_not_found');
  });

  it('the OpenAPI document describes every route from the validating schemas', async () => {
    const doc = (await gw.api('GET', '/openapi.json', { token: null })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/users', '/users/{id}', '/users/{id}/sessions', '/mappings', '/mappings/{name}', '/mappings/{name}/versions', '/mappings/{name}/rollback', '/mappings/{name}/preview', '/mappings/{name}/preview-recent', '/tokens', '/tokens/{name}', '/audit', '/request-logs', '/jobs', '/jobs/{name}/run']),
    );
    const list = doc.paths['/users'].get;
    expect(list['x-required-scope']).toBe('admin:read');
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(['q', 'lifecycle', 'role', 'limit', 'cursor']);
    expect(list.parameters.find((p: { name: string }) => p.name === 'limit').schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 200 });
    const patch = doc.paths['/users/{id}'].patch;
    expect(Object.keys(patch.requestBody.content)).toEqual(['application/merge-patch+json', 'application/json']);
    expect(patch.requestBody.content['application/json'].schema.properties.lifecycle.enum).toEqual(['ACTIVE', 'SUSPENDED', 'DEPROVISIONED']);
    expect(patch.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    expect(doc.paths['/mappings/{name}'].put.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Mapping' });
    expect(doc.components.schemas.Mapping.required).toEqual(['user']);
    expect(doc.components.schemas.Mapping.properties.roles.items.oneOf).toHaveLength(4);
    expect(doc.paths['/audit'].get.responses['401']).toBeDefined();
  });

  it('metrics need metrics:read and count logins, token rejections and proxy latency', async () => {
    expect((await call(`${gw.url}/claimgate/metrics`)).status).toBe(401);
    expect((await call(`${gw.url}/claimgate/metrics`, { headers: { authorization: `Bearer ${gw.tokens.write}` } })).status).toBe(403);
    const cookie = await gw.login({ preferred_username: 'mia', sub: 'u-mia' });
    await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({}, { ttl: -120 })}`);
    await call(`${gw.url}/dashboard`, { headers: { cookie } });
    const r = await call(`${gw.url}/claimgate/metrics`, { headers: { authorization: `Bearer ${gw.tokens.metrics}` } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    expect(r.text).toMatch(/claimgate_logins_total\{issuer="corp",outcome="success",method="sso"\} \d+/);
    expect(r.text).toMatch(/claimgate_logins_total\{issuer="corp",outcome="rejected",method="sso"\} [1-9]/);
    expect(r.text).toMatch(/claimgate_token_rejections_total\{code="token_expired"\} [1-9]/);
    expect(r.text).toMatch(/claimgate_proxy_request_duration_seconds_count\{status="2xx"\} [1-9]/);
    expect(r.text).toContain('claimgate_db_pool_connections');
  });
});

describe(`metrics on their own listener (${db})`, () => {
  let gw: AdminGateway;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    gw = await startAdminGateway({ metrics: { listen: `127.0.0.1:${port}` } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('answers open on metrics.listen, and still needs the scope on the main port', async () => {
    const open = await call(`http://127.0.0.1:${port}/metrics`);
    expect(open.status).toBe(200);
    expect(open.text).toContain('claimgate_logins_total');
    expect((await call(`http://127.0.0.1:${port}/claimgate/admin/v1/users`)).status).toBe(404);
    expect((await call(`${gw.url}/claimgate/metrics`)).status).toBe(401);
  });
});
