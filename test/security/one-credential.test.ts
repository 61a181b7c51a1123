/**
 * One credential per request: a token in more than one place (header, query, body) is refused before anything is
 * verified or consumed, and every route reads the Authorization header with the same grammar.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { requestToken, bearerFromHeader } from '../../src/core/tokens/bearer.js';
import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('requestToken: the one extraction', () => {
  const sso = (authorization: unknown, query: unknown = {}, body: unknown = undefined) =>
    requestToken({ authorization, query, queryNames: ['jwt'], body, bodyNames: ['jwt', 'token', 'id_token'] });
  const codeOf = (f: () => unknown) => {
    try {
      f();
      return 'none';
    } catch (e) {
      return `${(e as { status: number }).status} ${(e as { code: string }).code}`;
    }
  };

  it.each([
    ['Bearer abc.def-ghi_jkl~mno+p/q==', 'abc.def-ghi_jkl~mno+p/q=='],
    ['bearer abc', 'abc'],
    ['BEARER   abc', 'abc'],
  ])('%s is one bearer token', (header, token) => {
    expect(bearerFromHeader(header)).toBe(token);
  });

  it.each(['Bearer', 'Bearer ', 'Bearer a b', 'Bearer a,b', 'Bearer a=b', 'Bearer "a"', 'Bearer\ta', 'Bearer a\u00e9'])(
    '%j says Bearer but is not exactly one token68: 401 token_malformed',
    (header) => {
      expect(codeOf(() => bearerFromHeader(header))).toBe('401 token_malformed');
    },
  );

  it('another scheme, or no header, carries no bearer token', () => {
    expect(bearerFromHeader('Basic YTpi')).toBeNull();
    expect(bearerFromHeader('Bearerish abc')).toBeNull();
    expect(bearerFromHeader(undefined)).toBeNull();
  });

  it.each([
    ['header and query', 'Bearer aaa', { jwt: 'bbb' }, undefined],
    ['header and body', 'Bearer aaa', {}, { jwt: 'bbb' }],
    ['query and body', undefined, { jwt: 'aaa' }, { jwt: 'bbb' }],
    ['two body fields', undefined, {}, { jwt: 'aaa', token: 'bbb' }],
    ['the same token twice', 'Bearer aaa', { jwt: 'aaa' }, undefined],
  ])('%s: 400 invalid_request', (_name, header, query, body) => {
    expect(codeOf(() => sso(header, query, body))).toBe('400 invalid_request');
  });

  it('one way at a time is accepted, and where it came from is known', () => {
    expect(sso('Bearer aaa')).toEqual({ token: 'aaa', source: 'header' });
    expect(sso(undefined, { jwt: 'aaa' })).toEqual({ token: 'aaa', source: 'query' });
    expect(sso(undefined, {}, { id_token: 'aaa' })).toEqual({ token: 'aaa', source: 'body' });
    expect(sso(undefined, { other: 'x' }, { other: 'y' })).toBeNull();
  });

  it('inherited names are not fields, and a repeated parameter is malformed', () => {
    expect(sso(undefined, Object.create({ jwt: 'inherited' }))).toBeNull();
    expect(codeOf(() => sso(undefined, { jwt: ['a', 'b'] }))).toBe('401 token_malformed');
  });
});

describe('one credential per request over HTTP', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  const form = (fields: Record<string, string>) => ({
    'content-type': 'application/x-www-form-urlencoded',
    body: new URLSearchParams(fields).toString(),
  });

  it('/sso with ?jwt= and a Bearer header: 400 invalid_request, no session, and the link is still unused', async () => {
    const link = await gw.token();
    const other = await gw.token({ preferred_username: 'mallory', sub: 'u-mallory' });
    const res = await call(`${gw.url}/claimgate/sso?jwt=${link}`, { headers: { authorization: `Bearer ${other}` } });
    expect(res.status).toBe(400);
    expect(res.json().code).toBe('invalid_request');
    expect(res.headers['set-cookie']).toBeUndefined();
    // Refused before verification: neither token was consumed.
    expect((await call(`${gw.url}/claimgate/sso?jwt=${link}`)).status).toBe(303);
    expect((await call(`${gw.url}/claimgate/sso`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(303);
  });

  it('/sso with a body jwt and a Bearer header, or a body jwt and ?jwt=: 400 invalid_request', async () => {
    const a = await gw.token();
    const b = await gw.token();
    const { body, ...headers } = form({ jwt: a });
    const both = await call(`${gw.url}/claimgate/sso`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${b}` }, body });
    expect([both.status, both.json().code]).toEqual([400, 'invalid_request']);
    const twice = await call(`${gw.url}/claimgate/sso?jwt=${b}`, { method: 'POST', headers, body });
    expect([twice.status, twice.json().code]).toEqual([400, 'invalid_request']);
    const json = await call(`${gw.url}/claimgate/sso`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jwt: a, id_token: b }),
    });
    expect([json.status, json.json().code]).toEqual([400, 'invalid_request']);
    expect(gw.logs.join('\n')).not.toContain(a.split('.')[2]!);
  });

  it('a Bearer header that is not exactly one token is refused the same way on the app and the admin API', async () => {
    const t = await gw.token();
    const app = await call(`${gw.url}/dash`, { headers: { authorization: `Bearer ${t} extra` } });
    expect([app.status, app.json().code]).toEqual([401, 'token_malformed']);
    const sso = await call(`${gw.url}/claimgate/sso`, { headers: { authorization: `Bearer ${t} extra` } });
    expect([sso.status, sso.json().code]).toEqual([401, 'token_malformed']);
    const admin = await call(`${gw.url}/claimgate/admin/v1/users`, { headers: { authorization: 'Bearer cg_x y' } });
    expect([admin.status, admin.json().code]).toEqual([401, 'invalid_token']);
    // The same token, alone and well-formed, is accepted (any case of the scheme).
    expect((await call(`${gw.url}/dash`, { headers: { authorization: `bearer ${t}` } })).status).toBe(200);
  });
});
