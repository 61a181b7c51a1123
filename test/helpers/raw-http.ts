/**
 * One HTTP/1.1 request written byte for byte on a plain socket: for inputs a well-behaved client library refuses
 * to send (binary header values, repeated Cookie headers, odd request targets).
 */
import { connect } from 'node:net';

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
