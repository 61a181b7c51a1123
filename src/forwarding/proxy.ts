import type { IncomingMessage, ServerResponse, IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Pool, errors as undiciErrors } from 'undici';
import { SpanKind } from '@opentelemetry/api';
import { GatewayError } from '../errors.js';
import type { Outcomes } from '../audit/outcomes.js';
import type { Tracing } from '../audit/tracing.js';

/** Hop-by-hop headers (RFC 9110 section 7.6.1) are never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

export type OutgoingHeaders = Record<string, string | string[]>;

/** Copies request headers without hop-by-hop ones (including those named in `Connection`). */
export function forwardableHeaders(headers: IncomingHttpHeaders, drop: (name: string) => boolean): OutgoingHeaders {
  const out: OutgoingHeaders = {};
  const connectionTokens = typeof headers.connection === 'string' ? headers.connection.toLowerCase().split(/\s*,\s*/) : [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || drop(name)) continue;
    if (connectionTokens.length > 0 && connectionTokens.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Forwards requests to the analytics app over a keep-alive undici pool. Bodies stream both ways (no
 * buffering: uploads and downloads of any size), and the upstream's status maps to 502 (unreachable) or
 * 504 (too slow) with a clear page.
 */
export class UpstreamProxy {
  private readonly pool: Pool;
  private readonly url: URL;
  private readonly timeoutMs: number;
  private readonly outcomes?: Outcomes;
  private readonly tracing?: Tracing;

  constructor(upstreamUrl: string, opts: { timeoutSeconds: number; connections?: number; outcomes?: Outcomes; tracing?: Tracing }) {
    this.url = new URL(upstreamUrl);
    this.outcomes = opts.outcomes;
    this.tracing = opts.tracing?.enabled ? opts.tracing : undefined;
    this.timeoutMs = opts.timeoutSeconds * 1000;
    this.pool = new Pool(this.url.origin, {
      connections: opts.connections ?? 128,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      connectTimeout: Math.min(this.timeoutMs, 10_000),
    });
  }

  /** The upstream's Host header value. */
  get host(): string {
    return this.url.host;
  }

  private upstreamPath(reqUrl: string): string {
    const prefix = this.url.pathname.replace(/\/$/, '');
    return prefix ? `${prefix}${reqUrl}` : reqUrl;
  }

  async forward(req: IncomingMessage, res: ServerResponse, headers: OutgoingHeaders): Promise<void> {
    if (this.tracing) {
      const tracing = this.tracing;
      // The app sees this gateway's upstream span as the parent of whatever it traces.
      return tracing.span('claimgate.upstream', {}, () => {
        const traced = { ...headers };
        tracing.inject(traced);
        return this.send(req, res, traced);
      }, SpanKind.CLIENT);
    }
    return this.send(req, res, headers);
  }

  private async send(req: IncomingMessage, res: ServerResponse, headers: OutgoingHeaders): Promise<void> {
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    const method = req.method ?? 'GET';
    if (this.outcomes?.observesProxy) {
      const started = performance.now();
      const outcomes = this.outcomes;
      res.once('close', () => outcomes.proxy({ status: res.statusCode, seconds: (performance.now() - started) / 1000 }));
    }
    try {
      await this.pool.stream(
        {
          path: this.upstreamPath(req.url ?? '/'),
          method: method as 'GET',
          headers: { ...headers, host: this.url.host },
          body: hasBody ? req : null,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
        },
        ({ statusCode, headers: upstreamHeaders }) => {
          const out: OutgoingHeaders = {};
          for (const name in upstreamHeaders) {
            const v = upstreamHeaders[name];
            if (v !== undefined && !HOP_BY_HOP.has(name)) out[name] = v;
          }
          res.writeHead(statusCode, out);
          return res;
        },
      );
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      throw upstreamError(e);
    }
  }

  /** Passes a WebSocket (or any Upgrade) through after the gateway has authorised it. */
  forwardUpgrade(req: IncomingMessage, clientSocket: Duplex, head: Buffer, headers: OutgoingHeaders): void {
    const port = Number(this.url.port) || (this.url.protocol === 'https:' ? 443 : 80);
    const upstream: Socket =
      this.url.protocol === 'https:'
        ? tlsConnect({ host: this.url.hostname, port, servername: this.url.hostname })
        : connect({ host: this.url.hostname, port });
    const lines = [`${req.method} ${this.upstreamPath(req.url ?? '/')} HTTP/1.1`, `host: ${this.url.host}`];
    for (const [name, value] of Object.entries(headers)) {
      for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
    }
    lines.push('connection: Upgrade', `upgrade: ${req.headers.upgrade ?? 'websocket'}`);
    upstream.setTimeout(this.timeoutMs, () => upstream.destroy());
    upstream.once('connect', () => upstream.setTimeout(0));
    upstream.once(this.url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(clientSocket);
      clientSocket.pipe(upstream);
    });
    const fail = () => {
      if (!clientSocket.destroyed) {
        clientSocket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      }
      upstream.destroy();
    };
    upstream.once('error', fail);
    clientSocket.once('error', () => upstream.destroy());
    clientSocket.once('close', () => upstream.destroy());
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

function upstreamError(e: unknown): GatewayError {
  if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError || e instanceof undiciErrors.ConnectTimeoutError) {
    return new GatewayError('upstream_timeout', 504, 'The application did not answer in time. Please try again.', { cause: e });
  }
  if (e instanceof undiciErrors.RequestAbortedError) {
    return new GatewayError('client_closed', 499, 'The request was aborted.', { cause: e });
  }
  return new GatewayError('upstream_unavailable', 502, 'The application is not reachable right now. Please try again shortly.', { cause: e });
}
