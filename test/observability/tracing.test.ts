import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { within } from '../helpers/wait.js';
import { ISS } from '../helpers/gateway.js';
import { randomUUID } from 'node:crypto';
import { makeKeyPair, signToken, startJwksServer, type JwksServer, type KeyPair } from '../helpers/tokens.js';
import { APP_ID, PREFIX, pushBody } from '../provisioning/events/push.js';

const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** A local OTLP/HTTP collector: decodes each JSON export and keeps its spans. */
async function startCollector(): Promise<{ url: string; spans: ReceivedSpan[]; raw: string[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const raw: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      raw.push(body);
      const doc = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: ReceivedSpan[] }[] }[] };
      for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    raw,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe(`OpenTelemetry traces (${db})`, () => {
  let gw: TestGateway;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  beforeAll(async () => {
    collector = await startCollector();
    gw = await startTestGateway({ tracing: { otlp: { endpoint: collector.url, headers: { 'x-api-key': 'collector-key' } } } });
  });
  afterAll(async () => {
    await gw?.close();
    await collector?.close();
  });

  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const CALLER = '00f067aa0ba902b7';

  it('a sign-in continues the caller\'s trace: server span, then verification and user sync as its children', async () => {
    const token = await gw.token({ preferred_username: 'grace', sub: 'u-grace' });
    const r = await call(`${gw.url}/claimgate/sso?jwt=${token}`, { headers: { traceparent: `00-${TRACE}-${CALLER}-01` } });
    expect(r.status).toBe(303);
    // Spans are exported in batches as they end: the children may arrive a batch before the server span, which
    // ends last (after the answer), so the wait is for all of them.
    const names = ['GET /claimgate/sso', 'claimgate.verify', 'claimgate.mapping', 'claimgate.user_sync', 'claimgate.session'];
    await within(5000, () => names.every((n) => collector.spans.some((s) => s.name === n && s.traceId === TRACE)));
    const ofTrace = collector.spans.filter((s) => s.traceId === TRACE);
    const server = ofTrace.find((s) => s.name === 'GET /claimgate/sso')!;
    expect(server).toBeDefined();
    expect(server.parentSpanId).toBe(CALLER);
    expect(server.kind).toBe(2); // SERVER
    for (const child of ['claimgate.verify', 'claimgate.mapping', 'claimgate.user_sync', 'claimgate.session']) {
      expect(ofTrace.find((s) => s.name === child)?.parentSpanId).toBe(server.spanId);
    }
    // Nothing personal or secret in what was exported.
    const exported = collector.raw.join('\n');
    expect(exported).not.toContain(token.split('.')[2]!);
    expect(exported).not.toContain('grace');
    expect(exported).not.toContain('u-grace');
  });

  it('a proxied request reaches the app with the same trace id, parented by the upstream span', async () => {
    const cookie = cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`)).headers['set-cookie']);
    const trace2 = 'aaf92f3577b34da6a3ce929d0e0e4736';
    const r = await call(`${gw.url}/reports/7?secret=x`, { headers: { cookie, traceparent: `00-${trace2}-${CALLER}-01` } });
    expect(r.status).toBe(200);
    const atApp = String(r.json().headers.traceparent);
    expect(atApp).toMatch(new RegExp(`^00-${trace2}-[0-9a-f]{16}-01$`));
    const parentAtApp = atApp.split('-')[2];
    expect(parentAtApp).not.toBe(CALLER);
    // The server span ends after the upstream span, possibly in a later export.
    await within(5000, () => ['GET proxy', 'claimgate.auth', 'claimgate.upstream'].every((n) => collector.spans.some((s) => s.traceId === trace2 && s.name === n)));
    const upstream = collector.spans.find((s) => s.spanId === parentAtApp)!;
    expect(upstream.name).toBe('claimgate.upstream');
    const server = collector.spans.find((s) => s.spanId === upstream.parentSpanId)!;
    expect(server.name).toBe('GET proxy');
    expect(server.parentSpanId).toBe(CALLER);
    // The auth decision is the server span's other child, before the upstream call.
    const auth = collector.spans.find((s) => s.traceId === trace2 && s.name === 'claimgate.auth')!;
    expect(auth?.parentSpanId).toBe(server.spanId);
    expect(auth.attributes).toEqual(expect.arrayContaining([{ key: 'claimgate.decision', value: { stringValue: 'allow' } }]));
    expect(collector.raw.join('\n')).not.toMatch(/reports\/7|secret=x/);
  });

  it('a refused proxied request has an auth span with the refusal code and no upstream span', async () => {
    const trace3 = 'ddf92f3577b34da6a3ce929d0e0e4736';
    const r = await call(`${gw.url}/reports/8`, { headers: { accept: 'application/json', traceparent: `00-${trace3}-${CALLER}-01` } });
    expect(r.status).toBe(401);
    await within(5000, () => ['GET proxy', 'claimgate.auth'].every((n) => collector.spans.some((s) => s.traceId === trace3 && s.name === n)));
    const ofTrace = collector.spans.filter((s) => s.traceId === trace3);
    const server = ofTrace.find((s) => s.name === 'GET proxy')!;
    const auth = ofTrace.find((s) => s.name === 'claimgate.auth')!;
    expect(auth?.parentSpanId).toBe(server.spanId);
    expect(auth.attributes).toEqual(expect.arrayContaining([{ key: 'claimgate.error_code', value: { stringValue: 'unauthenticated' } }]));
    expect(ofTrace.some((s) => s.name === 'claimgate.upstream')).toBe(false);
  });

  it('a job run is a span of its own, named by job', async () => {
    await gw.running.gateway.parts.jobs.trigger('deletion', { trigger: 'manual', dryRun: true, actor: 'test' });
    await within(5000, () => collector.spans.some((s) => s.name === 'claimgate.job'));
    const job = collector.spans.find((s) => s.name === 'claimgate.job')!;
    expect(job.attributes).toEqual(expect.arrayContaining([{ key: 'claimgate.job', value: { stringValue: 'deletion' } }]));
  });
});

describe(`OpenTelemetry traces with a remote key set (${db})`, () => {
  let gw: TestGateway;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let jwks: Server;
  let key: KeyPair;
  beforeAll(async () => {
    collector = await startCollector();
    key = await makeKeyPair('RS256', 'remote-1');
    jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.publicJwk] })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const jwksUri = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
    gw = await startTestGateway({ tracing: { otlp: { endpoint: collector.url } } }, { keys: undefined, jwksUri });
  });
  afterAll(async () => {
    await gw?.close();
    await collector?.close();
    await new Promise<void>((r) => jwks?.close(() => r()));
  });

  it('the key-set fetch is a child of the verification span', async () => {
    const trace = 'ccf92f3577b34da6a3ce929d0e0e4736';
    const token = await signToken({ iss: ISS, aud: 'claimgate', sub: 'u-kf', preferred_username: 'kf', jti: 'kf-1' }, { key, now: Math.floor(Date.now() / 1000) });
    expect((await call(`${gw.url}/claimgate/sso?jwt=${token}`, { headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01` } })).status).toBe(303);
    // The verification span ends after the fetch inside it, possibly in a later export.
    await within(5000, () => ['claimgate.key_fetch', 'claimgate.verify'].every((n) => collector.spans.some((s) => s.name === n && s.traceId === trace)));
    const fetchSpan = collector.spans.find((s) => s.name === 'claimgate.key_fetch' && s.traceId === trace)!;
    const verify = collector.spans.find((s) => s.spanId === fetchSpan.parentSpanId)!;
    expect(verify.name).toBe('claimgate.verify');
    expect(fetchSpan.kind).toBe(3); // CLIENT
  });
});

describe(`without tracing (${db})`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('the caller\'s traceparent still reaches the app unchanged', async () => {
    const cookie = cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`)).headers['set-cookie']);
    const tp = '00-bbf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const r = await call(`${gw.url}/x`, { headers: { cookie, traceparent: tp } });
    expect(r.json().headers.traceparent).toBe(tp);
  });
});

describe(`OpenTelemetry traces of provisioning: SCIM, the sync API, change events (${db})`, () => {
  let gw: TestGateway;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let jwks: JwksServer;
  let eventKey: KeyPair;
  beforeAll(async () => {
    collector = await startCollector();
    eventKey = await makeKeyPair('RS256', 'KEYtrace');
    jwks = await startJwksServer([eventKey.publicJwk]);
    gw = await startTestGateway({
      tracing: { otlp: { endpoint: collector.url } },
      provisioning: { events: { jwksUri: jwks.jwksUri, appId: APP_ID } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await collector?.close();
    await jwks?.close();
  });

  const serverSpan = async (trace: string) => {
    await within(5000, () => collector.spans.some((s) => s.traceId === trace && s.kind === 2));
    return collector.spans.find((s) => s.traceId === trace && s.kind === 2)!;
  };
  const tp = (trace: string) => `00-${trace}-00f067aa0ba902b7-01`;

  it('a SCIM call and a sync API call are server spans named by their fixed route, with no person in them', async () => {
    const { token: scimToken } = await gw.running.gateway.parts.credentials.store.create({ name: 'scim-trace', scopes: ['scim'] });
    const { token: syncToken } = await gw.running.gateway.parts.credentials.store.create({ name: 'sync-trace', scopes: ['users:sync'] });
    const t1 = '11f92f3577b34da6a3ce929d0e0e4736';
    const created = await call(`${gw.url}/claimgate/scim/v2/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json', traceparent: tp(t1) },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'scim.person@example.com', displayName: 'Scim Person' }),
    });
    expect(created.status).toBe(201);
    const scim = await serverSpan(t1);
    expect(scim.name).toBe('POST /claimgate/scim');
    expect(scim.attributes).toEqual(expect.arrayContaining([{ key: 'http.response.status_code', value: { intValue: 201 } }]));

    const t2 = '22f92f3577b34da6a3ce929d0e0e4736';
    const synced = await call(`${gw.url}/claimgate/api/v1/users/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${syncToken}`, 'content-type': 'application/json', traceparent: tp(t2) },
      body: JSON.stringify({ usercode: 'sync.person', email: 'sync.person@example.com', displayName: 'Sync Person' }),
    });
    expect(synced.status).toBe(200);
    expect((await serverSpan(t2)).name).toBe('POST /claimgate/api');
    expect(collector.raw.join('\n')).not.toMatch(/scim\.person|Scim Person|sync\.person|Sync Person|\/Users|users\/sync/);
  });

  it('a change-event push is a server span; queued events are applied in a span of their own', async () => {
    const t3 = '33f92f3577b34da6a3ce929d0e0e4736';
    const body = await pushBody([{ type: 'ud:user:create', eventTime: 1, bizData: { userId: 'ev-1', username: 'event.person', displayName: 'Event Person' } }], { key: eventKey });
    const r = await call(`${gw.url}/claimgate/events`, { method: 'POST', headers: { 'content-type': 'application/json;charset=utf-8', traceparent: tp(t3) }, body });
    expect(r.status).toBe(200);
    expect((await serverSpan(t3)).name).toBe('POST /claimgate/events');

    // An event left in the queue (the part of a large push not applied before the answer).
    const event = { eventId: randomUUID(), type: 'ud:user:create', eventType: `${PREFIX}ud:user:create`, eventTime: 2, bizId: null, bizData: { userId: 'ev-2', username: 'queued.person' } };
    await gw.db.knex('event_queue').insert({ push_jti: 'jti-trace', event_id: event.eventId, event: JSON.stringify(event) });
    await within(10_000, () => collector.spans.some((s) => s.name === 'claimgate.event_queue'));
    const queue = collector.spans.find((s) => s.name === 'claimgate.event_queue')!;
    expect(queue.parentSpanId ?? '').toBe('');
    expect(queue.attributes).toEqual(expect.arrayContaining([{ key: 'claimgate.events', value: { intValue: 1 } }]));
    expect(collector.raw.join('\n')).not.toMatch(/event\.person|Event Person|queued\.person/);
  });
});
