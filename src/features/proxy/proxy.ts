import type { IncomingMessage, ServerResponse, IncomingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { Pool, errors as undiciErrors } from 'undici';
import { SpanKind } from '@opentelemetry/api';
import { GatewayError } from '../../core/errors/errors.js';
import type { Outcomes } from '../../observability/outcomes.js';
import type { Tracing } from '../../observability/tracing.js';
import { acceptsHandshake, type WebSocketHandshake } from './upgrade.js';

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
  /** The upstream URL's path without its trailing `/`, put before every request path ('' for none). */
  private readonly prefix: string;
  private readonly hostHeader: string;
  private readonly timeoutMs: number;
  private readonly outcomes?: Outcomes;
  private readonly tracing?: Tracing;

  constructor(upstreamUrl: string, opts: { timeoutSeconds: number; connections?: number; outcomes?: Outcomes; tracing?: Tracing }) {
    this.url = new URL(upstreamUrl);
    this.prefix = this.url.pathname.replace(/\/$/, '');
    this.hostHeader = this.url.host;
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
    return this.hostHeader;
  }

  private upstreamPath(reqUrl: string): string {
    return this.prefix ? `${this.prefix}${reqUrl}` : reqUrl;
  }

  /**
   * `headers` is the request's own object (built for it by the caller): the Host header is set on it. Its
   * X-Request-Id also goes back to the client on the answer, unless the app's answer carries its own.
   */
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
    headers.host = this.hostHeader;
    const requestId = headers['x-request-id'];
    // Timed from here to the answer's last byte (the stream settles once the answer has finished), without a
    // listener on the response: a listener per request costs the hot path more than the two clock reads.
    const started = this.outcomes?.observesProxy ? performance.now() : -1;
    try {
      await this.pool.stream(
        {
          path: this.upstreamPath(req.url ?? '/'),
          method: method as 'GET',
          headers,
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
          if (requestId !== undefined && out['x-request-id'] === undefined) out['x-request-id'] = requestId;
          res.writeHead(statusCode, out);
          return res;
        },
      );
      if (started >= 0) this.observe(res.statusCode, started);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        if (started >= 0) this.observe(res.statusCode, started);
        return;
      }
      const failure = upstreamError(e);
      // The status of the error answer the caller writes (502, 504; 499 for a client that went away).
      if (started >= 0) this.observe(failure.status, started);
      throw failure;
    }
  }

  private observe(status: number, started: number): void {
    this.outcomes!.proxy({ status, seconds: (performance.now() - started) / 1000 });
  }

  /**
   * Sends an authorised WebSocket handshake to the app and joins the two sockets only once the app has switched
   * protocols for this very handshake (101, `Upgrade: websocket`, the matching `Sec-WebSocket-Accept`). Any other
   * answer is relayed as an ordinary response and the client connection is closed: bytes the client sent after the
   * handshake must never reach the app unless they belong to a WebSocket, or they would be requests no rule checked.
   */
  forwardUpgrade(req: IncomingMessage, clientSocket: Duplex, head: Buffer, headers: OutgoingHeaders, handshake: WebSocketHandshake): void {
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const out = send({
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port || undefined,
      method: 'GET',
      path: this.upstreamPath(req.url ?? '/'),
      headers: { ...headers, host: this.url.host, connection: 'Upgrade', upgrade: 'websocket' },
      // A socket of its own: it either becomes the tunnel or is closed with the answer.
      agent: false,
      timeout: this.timeoutMs,
    });
    let settled = false;
    const refuse = (status: number, code: string) => {
      if (settled) return;
      settled = true;
      out.destroy();
      if (!clientSocket.destroyed) {
        clientSocket.end(`HTTP/1.1 ${status} ${code}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => clientSocket.destroy());
      }
    };
    out.on('timeout', () => refuse(504, 'upstream_timeout'));
    out.on('error', () => refuse(502, 'upstream_unavailable'));
    clientSocket.once('close', () => {
      if (!settled) {
        settled = true;
        out.destroy();
      }
    });

    out.on('upgrade', (res: IncomingMessage, upstream: Duplex & { setTimeout?: (ms: number) => void }, upstreamHead: Buffer) => {
      if (settled) return void upstream.destroy();
      if (!acceptsHandshake(res.headers, handshake)) {
        upstream.destroy();
        refuse(502, 'upstream_upgrade_invalid');
        return;
      }
      settled = true;
      upstream.setTimeout?.(0);
      const lines = ['HTTP/1.1 101 Switching Protocols'];
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
      clientSocket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upstreamHead.length) clientSocket.write(upstreamHead);
      if (head.length) upstream.write(head);
      upstream.pipe(clientSocket);
      clientSocket.pipe(upstream);
      upstream.on('error', () => clientSocket.destroy());
      upstream.on('close', () => clientSocket.destroy());
      clientSocket.once('close', () => upstream.destroy());
    });

    out.on('response', (res: IncomingMessage) => {
      if (settled) return void res.destroy();
      settled = true;
      if (clientSocket.destroyed) return void res.destroy();
      const lines = [`HTTP/1.1 ${res.statusCode ?? 502} ${(res.statusMessage ?? '').replace(/[^\t\x20-\x7e]/g, '')}`];
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
        const name = res.rawHeaders[i]!;
        if (!HOP_BY_HOP.has(name.toLowerCase())) lines.push(`${name}: ${res.rawHeaders[i + 1]}`);
      }
      // Closing ends the exchange: whatever the client pipelined behind the handshake is never read.
      lines.push('connection: close');
      clientSocket.write(`${lines.join('\r\n')}\r\n\r\n`);
      res.on('error', () => clientSocket.destroy());
      res.pipe(clientSocket);
      clientSocket.once('finish', () => clientSocket.destroy());
    });
    out.end();
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

function upstreamError(e: unknown): GatewayError {
  if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError || e instanceof undiciErrors.ConnectTimeoutError) {
    return new GatewayError('upstream_timeout', 'The application did not answer in time. Please try again.', { cause: e });
  }
  if (e instanceof undiciErrors.RequestAbortedError) {
    return new GatewayError('client_closed', 'The request was aborted.', { cause: e });
  }
  return new GatewayError('upstream_unavailable', 'The application is not reachable right now. Please try again shortly.', { cause: e });
}
