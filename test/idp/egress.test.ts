import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { egressSettings, bypassesProxy, egressFetch } from '../../src/core/idp/egress.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startGraphStandIn, type GraphStandIn } from '../helpers/graph-stand-in.js';
import { browse, CookieJar, resignIdToken, startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { ACCOUNTS, oidcIssuer, startLogin, webClient } from '../helpers/oidc-setup.js';
import { requireBinary } from '../helpers/nginx.js';
import { startTinyproxy, tinyproxyBinary, type RunningProxy } from '../helpers/tinyproxy.js';

describe('egress settings', () => {
  it('default from the environment: loopback goes direct, NO_PROXY suffixes and CIDRs too', () => {
    const s = egressSettings({}, { HTTPS_PROXY: 'http://proxy.internal:3128', NO_PROXY: '.corp.example, 10.0.0.0/8' });
    expect(s).toEqual({ proxy: 'http://proxy.internal:3128', explicit: false, noProxy: ['.corp.example', '10.0.0.0/8'] });
    expect(bypassesProxy('127.0.0.1', s)).toBe(true);
    expect(bypassesProxy('keys.corp.example', s)).toBe(true);
    expect(bypassesProxy('corp.example', s)).toBe(true);
    expect(bypassesProxy('evilcorp.example', s)).toBe(false);
    expect(bypassesProxy('10.1.2.3', s)).toBe(true);
    expect(bypassesProxy('11.1.2.3', s)).toBe(false);
    expect(bypassesProxy('login.microsoftonline.com', s)).toBe(false);
  });
  it('an explicit proxy takes loopback hosts too, unless listed', () => {
    const s = egressSettings({ proxy: 'http://127.0.0.1:3128' }, { NO_PROXY: '*' });
    expect(s.noProxy).toEqual(['*']); // the configuration names no noProxy: the environment's applies
    const t = egressSettings({ proxy: 'http://127.0.0.1:3128', noProxy: [] }, {});
    expect(bypassesProxy('127.0.0.1', t)).toBe(false);
    expect(bypassesProxy('::1', t)).toBe(false);
    expect(bypassesProxy('127.0.0.1', { ...t, noProxy: ['127.0.0.0/8'] })).toBe(true);
    expect(egressSettings({}, {}).proxy).toBeNull();
  });
});

const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const GRAPH_CLIENT = '0b1d3c6e-5d2a-4c53-8a57-2a1b3c4d5e6f';
const GRAPH_SECRET = 'graph-secret-value-0123456789';
const G_ADMINS = '9a4e2c1b-0d3f-4e5a-8b6c-7d8e9f0a1b2c';

const mode = requireBinary('tinyproxy', tinyproxyBinary() !== null);
(mode === 'run' ? describe : describe.skip)('identity-side calls go through a real forward proxy (tinyproxy)', () => {
  let proxy: RunningProxy;
  let graph: GraphStandIn;
  let idp: TestProvider;
  let gw: TestGateway;
  const oid = randomUUID();

  beforeAll(async () => {
    proxy = await startTinyproxy();
    graph = await startGraphStandIn({ clientId: GRAPH_CLIENT, clientSecret: GRAPH_SECRET });
    graph.memberships.set(oid, [{ id: G_ADMINS, displayName: 'BI Admins' }]);
    let started: TestGateway | undefined;
    idp = await startTestProvider(async (issuer) => {
      started = await startTestGateway({
        egress: { proxy: proxy.url, noProxy: [] },
        mappings: {
          corp: {
            user: { usercode: 'preferred_username' },
            roles: [{ from: 'groups', map: { [G_ADMINS]: 'admin' } }, { default: ['viewer'] }],
          },
        },
        issuers: [
          oidcIssuer(issuer, {}, {
            entra: { tenants: [TID], graph: { clientId: GRAPH_CLIENT, clientSecret: GRAPH_SECRET, authorityUrl: graph.url, graphUrl: graph.url } },
          }),
        ],
      });
      return { clients: [webClient(started.url)], accounts: ACCOUNTS };
    });
    gw = started!;
    idp.tamperToken = async (body) => ({
      ...body,
      id_token: await resignIdToken(idp, String(body.id_token), (c) => {
        const { groups: _dropped, ...rest } = c as Record<string, unknown>;
        return { ...rest, tid: TID, oid, hasgroups: true };
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await idp?.close();
    await graph?.close();
    await proxy?.close();
  });

  it('key set, discovery, token endpoint and Graph are all requested through the proxy', async () => {
    const jar = new CookieJar();
    const { callbackUrl } = await startLogin(gw, jar, 'ada');
    const cb = await browse(jar, callbackUrl);
    expect(cb.status).toBe(303);
    const user = await gw.running.gateway.parts.users.getByUsercode('ada');
    expect((user?.roles ?? []).map((r) => r.name)).toEqual(['admin']);

    const log = proxy.log();
    const idpHost = new URL(idp.issuer).host;
    const graphHost = new URL(graph.url).host;
    const seen = (method: string, host: string, path: string) => new RegExp(`${method} http://${host.replace(/\./g, '\\.')}${path}`).test(log);
    expect(seen('GET', idpHost, '/\\.well-known/openid-configuration')).toBe(true);
    expect(seen('GET', idpHost, '/jwks')).toBe(true);
    expect(seen('POST', idpHost, '/token')).toBe(true);
    expect(seen('POST', graphHost, `/${TID}/oauth2/v2\\.0/token`)).toBe(true);
    expect(seen('GET', graphHost, `/v1\\.0/users/${oid}/transitiveMemberOf`)).toBe(true);
    // The analytics app is not an identity-side call: never through the proxy.
    expect(log).not.toContain(new URL(gw.app.url).host);
  });

  it('https targets (all real providers) are tunnelled through the proxy with CONNECT', async () => {
    // The target only records what arrives through the tunnel: a TLS ClientHello starts with the byte 0x16.
    const firstBytes: number[] = [];
    const target = createServer((sock) => {
      sock.once('data', (b: Buffer) => {
        firstBytes.push(b[0]!);
        sock.destroy();
      });
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const port = (target.address() as AddressInfo).port;
    try {
      const f = egressFetch({ proxy: proxy.url, noProxy: [] }, {});
      await expect(f(`https://127.0.0.1:${port}/common/discovery/v2.0/keys`)).rejects.toThrow();
      expect(proxy.log()).toMatch(new RegExp(`CONNECT 127\\.0\\.0\\.1:${port} `));
      expect(firstBytes).toEqual([0x16]);
    } finally {
      await new Promise((r) => target.close(r));
    }
  });
});
