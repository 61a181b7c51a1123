import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, decodeJwt } from 'jose';
import { runCli, type CliIo } from '../../src/app/cli/main.js';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const req = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as IncomingMessage;

describe('API credentials and /oauth/token', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });
  const ctx = () => gw.running.gateway.parts.credentials;
  const errorOf = async (p: Promise<unknown>) => p.then(() => null, (e: { code: string; status: number }) => [e.status, e.code]);

  it('a static token authenticates with its scopes; admin:write implies admin:read', async () => {
    const { token } = await ctx().store.create({ name: 'platform', scopes: ['admin:write'] });
    expect(token).toMatch(/^cg_[A-Za-z0-9_-]{43}$/);
    const p = await ctx().auth.require(req(`Bearer ${token}`), 'admin:read');
    expect(p.credential.name).toBe('platform');
    expect(await errorOf(ctx().auth.require(req(`Bearer ${token}`), 'scim'))).toEqual([403, 'insufficient_scope']);
    expect(await errorOf(ctx().auth.require(req(), 'scim'))).toEqual([401, 'unauthenticated']);
    expect(await errorOf(ctx().auth.require(req('Bearer cg_nottherightone1234567890'), 'scim'))).toEqual([401, 'invalid_token']);
    expect(await errorOf(ctx().auth.require(req('Basic abc'), 'scim'))).toEqual([401, 'invalid_token']);
  });

  it('secrets are stored hashed only', async () => {
    const { token, clientSecret } = await ctx().store.create({ name: 'hashed', scopes: ['scim'] });
    const rows = JSON.stringify(await gw.db.knex('api_credentials').select('*'));
    expect(rows).not.toContain(token);
    expect(rows).not.toContain(clientSecret);
  });

  it('revocation applies to the very next call; a revoked name can be reused', async () => {
    const { token } = await ctx().store.create({ name: 'hr-sync', scopes: ['users:sync'] });
    await ctx().auth.require(req(`Bearer ${token}`), 'users:sync');
    await ctx().store.revoke('hr-sync');
    expect(await errorOf(ctx().auth.require(req(`Bearer ${token}`), 'users:sync'))).toEqual([401, 'invalid_token']);
    await expect(ctx().store.create({ name: 'hr-sync', scopes: ['users:sync'] })).resolves.toMatchObject({ credential: { name: 'hr-sync', scopes: ['users:sync'] }, token: expect.stringMatching(/^cg_/) });
    await expect(ctx().store.create({ name: 'hr-sync', scopes: ['users:sync'] })).rejects.toMatchObject({ code: 'credential_exists' });
  });

  it('an expired credential is refused', async () => {
    const { token } = await ctx().store.create({ name: 'short', scopes: ['scim'], expiresAt: new Date(Date.now() - 1000) });
    expect(await errorOf(ctx().auth.require(req(`Bearer ${token}`), 'scim'))).toEqual([401, 'invalid_token']);
  });

  it('client credentials by HTTP Basic or form give a 15-minute JWT accepted for its scopes', async () => {
    const { credential, clientSecret } = await ctx().store.create({ name: 'subscriber', scopes: ['scim', 'users:sync'] });
    const basic = Buffer.from(`${credential.clientId}:${encodeURIComponent(clientSecret)}`).toString('base64');
    const r = await call(`${gw.url}/claimgate/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=scim',
    });
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const body = r.json();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'scim' });
    expect(decodeProtectedHeader(body.access_token)).toMatchObject({ alg: 'ES256', typ: 'claimgate-access+jwt' });
    expect(decodeJwt(body.access_token).exp! - decodeJwt(body.access_token).iat!).toBe(900);
    const p = await ctx().auth.require(req(`Bearer ${body.access_token}`), 'scim');
    expect(p.via).toBe('access_token');
    // The token carries only the scope asked for.
    expect(await errorOf(ctx().auth.require(req(`Bearer ${body.access_token}`), 'users:sync'))).toEqual([403, 'insufficient_scope']);

    const form = await call(`${gw.url}/claimgate/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${credential.clientId}&client_secret=${encodeURIComponent(clientSecret)}`,
    });
    expect(form.status).toBe(200);
    expect(form.json().scope).toBe('scim users:sync');

    // Revoking the credential ends its access tokens too.
    await ctx().store.revoke('subscriber');
    expect(await errorOf(ctx().auth.require(req(`Bearer ${body.access_token}`), 'scim'))).toEqual([401, 'invalid_token']);
  });

  const BASIC = 'Basic realm="claimgate", charset="UTF-8"';
  it.each<[string, (id: string) => string, number, string, string | undefined]>([
    ['a wrong secret', (id: string) => `grant_type=client_credentials&client_id=${id}&client_secret=wrong`, 401, 'invalid_client', 'Bearer'],
    ['no client', () => 'grant_type=client_credentials', 401, 'invalid_client', BASIC],
    ['another grant', (id: string) => `grant_type=password&client_id=${id}&client_secret=x`, 400, 'unsupported_grant_type', undefined],
    ['no grant', (id: string) => `client_id=${id}&client_secret=x`, 400, 'invalid_request', undefined],
  ])('refuses %s with the RFC 6749 error', async (_n, body, status, error, challenge) => {
    const { credential } = await ctx().store.create({ name: `c-${_n.replace(/\W/g, "-")}`, scopes: ["scim"] });
    const r = await call(`${gw.url}/claimgate/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body(credential.clientId),
    });
    expect(r.status).toBe(status);
    expect(Object.keys(r.json()).sort()).toEqual(['error', 'error_description']);
    expect(r.json().error).toBe(error);
    expect(r.headers['www-authenticate']).toBe(challenge);
    expect(r.headers['cache-control']).toBe('no-store');
  });

  it('refuses a wrong secret sent with HTTP Basic with the Basic challenge', async () => {
    const { credential } = await ctx().store.create({ name: 'basic-wrong', scopes: ['scim'] });
    const r = await call(`${gw.url}/claimgate/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${credential.clientId}:wrong`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect([r.status, r.json().error, r.headers['www-authenticate']]).toEqual([401, 'invalid_client', BASIC]);
  });

  it('refuses a scope the client does not hold', async () => {
    const { credential, clientSecret } = await ctx().store.create({ name: 'narrow', scopes: ['scim'] });
    const r = await call(`${gw.url}/claimgate/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&scope=admin:write&client_id=${credential.clientId}&client_secret=${clientSecret}`,
    });
    expect(r.status).toBe(400);
    expect(r.json().error).toBe('invalid_scope');
  });

  it('grants a scope implied by a held one: admin:write asks for admin:read only', async () => {
    const { credential, clientSecret } = await ctx().store.create({ name: 'writer-reads', scopes: ['admin:write'] });
    const r = await call(`${gw.url}/claimgate/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&scope=admin:read&client_id=${credential.clientId}&client_secret=${clientSecret}`,
    });
    expect(r.status).toBe(200);
    expect(r.json().scope).toBe('admin:read');
    const token = r.json().access_token as string;
    // The narrowed token reads, and only reads.
    expect((await call(`${gw.url}/claimgate/admin/v1/users`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const write = await call(`${gw.url}/claimgate/admin/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'never', scopes: ['scim'] }),
    });
    expect(write.status).toBe(403);
    expect(write.json().code).toBe('insufficient_scope');
  });

  it("the gateway's own tokens are not accepted where another kind is expected", async () => {
    const { credential, clientSecret } = await ctx().store.create({ name: 'kinds', scopes: ['scim'] });
    const r = await call(`${gw.url}/claimgate/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${credential.clientId}&client_secret=${clientSecret}`,
    });
    const accessToken = r.json().access_token;
    // An access token is not a sign-in token for the app.
    const proxied = await call(`${gw.url}/dashboards/1`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(proxied.status).toBe(401);
    expect(proxied.json().code).toBe('issuer_unknown');
    // An assertion is not an access token.
    const login = await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`);
    const seen = (await call(`${gw.url}/x`, { headers: { cookie: cookieOf(login.headers['set-cookie']) } })).json();
    const assertion = seen.headers['x-claimgate-assertion'];
    expect(await errorOf(ctx().auth.require(req(`Bearer ${assertion}`), 'scim'))).toEqual([401, 'invalid_token']);
  });
});

describe('claimgate tokens', () => {
  let dir: string;
  let config: string;
  const io = (out: string[], err: string[]): CliIo => ({ out: (s) => out.push(s), err: (s) => err.push(s), env: { S: 'k'.repeat(40) } });
  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['tokens', ...args, '--config', config], io(out, err));
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cg-tokens-'));
    config = join(dir, 'claimgate.yaml');
    writeFileSync(
      config,
      `publicUrl: https://bi.example.com\nsession: { secret: \${S} }\nupstream: { url: http://127.0.0.1:9000 }\ndatabase: { dataDir: ${join(dir, 'data')} }\n`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('create --json prints one document with a usable token and client credentials; list and revoke', async () => {
    const created = await cli(['create', '--name', 'okta', '--scopes', 'scim,users:sync', '--expires-in', '90d', '--json']);
    expect(created.code).toBe(0);
    const doc = JSON.parse(created.out);
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(['name', 'clientId', 'clientSecret', 'token']));
    expect(doc.clientId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(Date.parse(doc.expiresAt) - Date.now()).toBeGreaterThan(89 * 86400_000);
    const listed = await cli(['list']);
    expect(listed.out).toMatch(/^okta +scim,users:sync /m);
    expect(listed.out).not.toContain(doc.token);
    expect((await cli(['revoke', 'okta'])).code).toBe(0);
    expect((await cli(['list'])).out).toBe('no credentials');
    expect((await cli(['revoke', 'okta'])).code).toBe(1);
  });

  it('names the problem in bad arguments', async () => {
    expect((await cli(['create', '--scopes', 'scim'])).err).toMatch(/--name NAME is required/);
    expect((await cli(['create', '--name', 'x', '--scopes', 'scim,root'])).err).toMatch(/unknown scope\(s\) root/);
    expect((await cli(['create', '--name', 'x', '--scopes', 'scim', '--expires-in', 'soon'])).err).toMatch(/not a duration/);
    expect((await cli(['create', '--name', 'bad name', '--scopes', 'scim'])).err).toMatch(/credential name/);
    expect((await cli(['frobnicate'])).code).toBe(1);
  });
});
