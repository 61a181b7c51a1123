/**
 * One HTTP/1.1 request written byte for byte on a plain socket: for inputs a well-behaved client library refuses
 * to send (binary header values, repeated Cookie headers, odd request targets).
 */
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** Sends `GET|… target` with `headers` (each [name, value] written as is, repeats allowed) and `Connection: close`. */
export function rawRequest(baseUrl: string, method: string, target: string, headers: [string, string | Buffer][], timeoutMs = 5000): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end === -1 ? text : text.slice(0, end);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: end === -1 ? '' : text.slice(end + 4) });
    });
    socket.on('connect', () => {
      const parts: Buffer[] = [Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: gateway.test\r\n`, 'latin1')];
      for (const [name, value] of headers) parts.push(Buffer.from(`${name}: `, 'latin1'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'), Buffer.from('\r\n'));
      parts.push(Buffer.from('Connection: close\r\n\r\n'));
      // write, not end: a half-closed client socket makes Node drop a response still being produced.
      socket.write(Buffer.concat(parts));
    });
  });
}

/** Sends a request head, then `drip` bytes of body one at a time every `everyMs`; resolves with what came back. */
export function slowRequest(base: string, target: string, opts: { length: number; drip: number; everyMs: number; headers?: string[]; limitMs?: number }) {
  const { hostname, port } = new URL(base);
  return new Promise<{ status: number; text: string; closedAfterMs: number; sent: number }>((resolve, reject) => {
    const started = Date.now();
    const socket: Socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const give = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${opts.limitMs ?? 10_000} ms (${sent} bytes sent)`));
    }, opts.limitMs ?? 10_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(give);
      clearInterval(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text, closedAfterMs: Date.now() - started, sent });
    });
    socket.on('connect', () => {
      const head = [`POST ${target} HTTP/1.1`, 'Host: gateway.test', `Content-Length: ${opts.length}`, ...(opts.headers ?? [])];
      socket.write(`${head.join('\r\n')}\r\n\r\n`);
      timer = setInterval(() => {
        if (sent >= opts.drip || socket.destroyed) return clearInterval(timer);
        socket.write('a');
        sent++;
      }, opts.everyMs);
    });
  });
}

/** A POST with `Expect: 100-continue`, as curl sends large uploads: the body goes only after the server's `100 Continue`. */
export function postExpectingContinue(baseUrl: string, target: string, body: Buffer, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; continued: boolean; text: string }>((resolve, reject) => {
    let continued = false;
    const req = httpRequest(new URL(target, baseUrl), {
      method: 'POST',
      headers: { ...headers, expect: '100-continue', 'content-length': String(body.length), connection: 'close' },
    });
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, continued, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
  });
}
