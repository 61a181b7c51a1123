import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTracing, tracesEndpoint } from '../../src/observability/tracing.js';
import { within } from '../helpers/wait.js';

const OFF_CONFIG = { otlp: { headers: {} }, sampleRatio: 1, serviceName: 'claimgate' };

/** Tracing switched on by the standard OTEL_* variables alone, against a local OTLP/HTTP receiver. */
describe('OpenTelemetry traces from the OTEL_* variables', () => {
  let server: Server;
  let url: string;
  const received: { path: string; headers: Record<string, unknown>; body: any }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(body) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('is off without an endpoint, and when OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none says so', () => {
    expect(tracesEndpoint(OFF_CONFIG, {})).toBeUndefined();
    expect(createTracing(OFF_CONFIG, {}).enabled).toBe(false);
    expect(tracesEndpoint({ ...OFF_CONFIG, otlp: { endpoint: url, headers: {} } }, { OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(tracesEndpoint(OFF_CONFIG, { OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(tracesEndpoint(OFF_CONFIG, { OTEL_EXPORTER_OTLP_ENDPOINT: `${url}/` })).toBe(`${url}/v1/traces`);
    expect(tracesEndpoint(OFF_CONFIG, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${url}/custom` })).toBe(`${url}/custom`);
    expect(tracesEndpoint({ ...OFF_CONFIG, otlp: { endpoint: url, headers: {} } }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://elsewhere' })).toBe(`${url}/v1/traces`);
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS and OTEL_SERVICE_NAME turn it on and shape the export', async () => {
    const tracing = createTracing(OFF_CONFIG, {
      OTEL_EXPORTER_OTLP_ENDPOINT: url,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=k%3D1,x-team=ops',
      OTEL_SERVICE_NAME: 'gateway-eu',
    });
    expect(tracing.enabled).toBe(true);
    await tracing.span('claimgate.test', { 'claimgate.step': 'one' }, async () => {
      await tracing.span('claimgate.test_child', {}, async () => undefined);
    });
    await tracing.close();
    await within(5000, () => received.length > 0);
    const got = received[0]!;
    expect(got.path).toBe('/v1/traces');
    expect(got.headers['x-api-key']).toBe('k=1');
    expect(got.headers['x-team']).toBe('ops');
    const rs = got.body.resourceSpans[0];
    expect(rs.resource.attributes).toEqual(expect.arrayContaining([{ key: 'service.name', value: { stringValue: 'gateway-eu' } }]));
    const spans = rs.scopeSpans.flatMap((s: { spans: unknown[] }) => s.spans) as { name: string; spanId: string; parentSpanId?: string }[];
    const parent = spans.find((s) => s.name === 'claimgate.test')!;
    expect(spans.find((s) => s.name === 'claimgate.test_child')?.parentSpanId).toBe(parent.spanId);
  });
});
