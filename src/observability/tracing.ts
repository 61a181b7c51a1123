import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Span,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import type * as OtelCore from '@opentelemetry/core';
import type * as OtelContext from '@opentelemetry/context-async-hooks';
import type * as OtelSdk from '@opentelemetry/sdk-trace-base';
import type * as OtelExporter from '@opentelemetry/exporter-trace-otlp-http';
import type * as OtelResources from '@opentelemetry/resources';
import type { Config } from '../core/config/schema.js';

/**
 * OpenTelemetry traces of one gateway. Off (every call a plain pass-through, nothing allocated) unless an OTLP
 * endpoint is configured. Span names and attributes are fixed words, configured ids, stable error codes and status
 * codes: never a token, a secret, a raw path, a query or a person's identifier.
 */
export interface Tracing {
  readonly enabled: boolean;
  /** Runs one incoming request inside a server span that continues the caller's `traceparent`. */
  request(req: IncomingMessage, res: ServerResponse, route: string, run: () => void): void;
  /** Runs `fn` inside a child span of the current one. */
  span<T>(name: string, attributes: Attributes, fn: () => Promise<T>, kind?: SpanKind): Promise<T>;
  /** Writes the current span's `traceparent` (and `tracestate`) into outgoing headers, replacing the caller's. */
  inject(headers: Record<string, string | string[]>): void;
  /** Adds attributes to the current span (a no-op when there is none). */
  annotate(attributes: Attributes): void;
  /** Sends what is buffered and stops. */
  close(): Promise<void>;
}

const OFF: Tracing = {
  enabled: false,
  request: (_req, _res, _route, run) => run(),
  span: (_name, _attributes, fn) => fn(),
  inject: () => undefined,
  annotate: () => undefined,
  close: async () => undefined,
};

/**
 * The OpenTelemetry SDK (some 250 modules, about 5 MiB of heap and a few hundred milliseconds of start-up) is loaded
 * only when tracing is on. Its packages are CommonJS, so a synchronous require gives the same instances an import
 * would.
 */
const requireOtel = createRequire(import.meta.url);
function loadSdk() {
  return {
    core: requireOtel('@opentelemetry/core') as typeof OtelCore,
    contextHooks: requireOtel('@opentelemetry/context-async-hooks') as typeof OtelContext,
    sdk: requireOtel('@opentelemetry/sdk-trace-base') as typeof OtelSdk,
    exporter: requireOtel('@opentelemetry/exporter-trace-otlp-http') as typeof OtelExporter,
    resources: requireOtel('@opentelemetry/resources') as typeof OtelResources,
  };
}
const headerGetter: TextMapGetter<IncomingMessage['headers']> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** The traces URL from the configuration or the standard OTEL_* variables; undefined when tracing is off. */
export function tracesEndpoint(config: Config['tracing'], env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const base = config.otlp.endpoint;
  if (base) return /\/v1\/traces\/?$/.test(base) ? base : `${base.replace(/\/+$/, '')}/v1/traces`;
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

/** `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`, values percent-encoded) under the configured headers. */
function envHeaders(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const raw = env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS;
  for (const pair of (raw ?? '').split(',')) {
    const i = pair.indexOf('=');
    if (i > 0) out[pair.slice(0, i).trim()] = decodeURIComponent(pair.slice(i + 1).trim());
  }
  return out;
}

export function createTracing(config: Config['tracing'], env: NodeJS.ProcessEnv = process.env): Tracing {
  const url = tracesEndpoint(config, env);
  if (!url) return OFF;
  const { core, contextHooks, sdk, exporter, resources } = loadSdk();
  const propagator = new core.W3CTraceContextPropagator();
  // Spans follow the request through awaits; one context manager serves every gateway of the process.
  context.setGlobalContextManager(new contextHooks.AsyncLocalStorageContextManager().enable());
  const envRatio = Number(env.OTEL_TRACES_SAMPLER_ARG);
  const ratio = config.sampleRatio !== 1 || !Number.isFinite(envRatio) ? config.sampleRatio : envRatio;
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? config.serviceName }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) }),
    spanProcessors: [
      new sdk.BatchSpanProcessor(new exporter.OTLPTraceExporter({ url, headers: { ...envHeaders(env), ...config.otlp.headers } }), {
        scheduledDelayMillis: 1000,
        maxQueueSize: 4096,
      }),
    ],
  });
  const tracer: Tracer = provider.getTracer('claimgate');

  const finish = (span: Span, e: unknown) => {
    const code = (e as { code?: unknown })?.code;
    span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : 'error' });
    if (typeof code === 'string') span.setAttribute('claimgate.error_code', code);
  };

  return {
    enabled: true,
    request(req, res, route, run) {
      const parent = propagator.extract(ROOT_CONTEXT, req.headers, headerGetter);
      const span = tracer.startSpan(
        `${req.method ?? 'GET'} ${route}`,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? 'GET', 'claimgate.route': route } },
        parent,
      );
      res.once('close', () => {
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      });
      context.with(trace.setSpan(parent, span), run);
    },
    span(name, attributes, fn, kind = SpanKind.INTERNAL) {
      return tracer.startActiveSpan(name, { attributes, kind }, async (span) => {
        try {
          return await fn();
        } catch (e) {
          finish(span, e);
          throw e;
        } finally {
          span.end();
        }
      });
    },
    inject(headers) {
      delete headers.traceparent;
      delete headers.tracestate;
      propagator.inject(context.active(), headers, {
        set: (carrier, key, value) => {
          carrier[key] = value;
        },
      });
    },
    annotate(attributes) {
      trace.getActiveSpan()?.setAttributes(attributes);
    },
    async close() {
      await provider.shutdown();
    },
  };
}

/** A fixed route label for a request path: a gateway area, or `proxy` for the app's paths. */
export function routeLabel(path: string, basePath: string): string {
  if (path !== basePath && !path.startsWith(`${basePath}/`)) return 'proxy';
  const area = path.slice(basePath.length + 1).split('/')[0] ?? '';
  return GATEWAY_AREAS.has(area) ? `${basePath}/${area}` : basePath;
}

const GATEWAY_AREAS = new Set([
  'sso',
  'login',
  'callback',
  'logout',
  'backchannel-logout',
  'me',
  'auth',
  'admin',
  'scim',
  'api',
  'oauth',
  'events',
  'health',
  'metrics',
  'jwks.json',
  'console',
]);
