/**
 * Upgrade smuggling: an Upgrade request the app does not switch on must not turn the client's connection into a raw
 * pipe to the app, or every request sent after it on that socket would skip route rules and identity-header
 * stripping. A tunnel opens only after the app's 101 for this very WebSocket handshake.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'undici';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { nginxBinary, requireBinary } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';

const ROUTES = [
  { path: '/public/*', public: true },
  { path: '/admin/*', anyRole: ['admin'] },
];

const newKey = () => randomBytes(16).toString('base64');
const acceptOf = (key: string) => createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

const SMUGGLED = 'GET /admin/secret HTTP/1.1\r\nHost: app\r\nX-Claimgate-User: boss\r\nX-Claimgate-Roles: admin\r\n\r\n';

/**
 * Writes an anonymous WebSocket handshake for a public path, then (in the same packet, and again once the first
 * answer arrived) a second request with forged identity headers. Resolves with everything the client received.
 */
function smuggle(gatewayUrl: string, upgrade = 'websocket', path = '/public/chat'): Promise<{ text: string; closed: boolean }> {
  const { hostname, port } = new URL(gatewayUrl);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: hostname, port: Number(port) });
    let text = '';
    let closed = false;
    let sentLater = false;
    const done = setTimeout(() => (socket.destroy(), resolve({ text, closed })), 2500);
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (!sentLater && text.includes('\r\n\r\n')) {
        sentLater = true;
        setTimeout(() => socket.writable && socket.write(SMUGGLED), 100);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      clearTimeout(done);
      setTimeout(() => resolve({ text, closed }), 0);
    });
    socket.on('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: gateway.test\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n` +
          `Sec-WebSocket-Key: ${newKey()}\r\nSec-WebSocket-Version: 13\r\n\r\n${SMUGGLED}`,
      ),
    );
    socket.on('error', reject);
  });
}

const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

describe('an Upgrade the app does not accept never becomes a tunnel', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // The echo app has no upgrade handler: it answers an Upgrade request with 200 and keeps the connection alive.
    gw = await startTestGateway({ routes: ROUTES });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a Node app answering 200: the answer is relayed, the connection closed, nothing pipelined reaches the app', async () => {
    const before = gw.app.seen.length;
    const r = await smuggle(gw.url);
    expect(statusOf(r.text)).toBe(200);
    expect(r.text.toLowerCase()).toContain('connection: close');
    expect(r.closed).toBe(true);
    // The app saw the handshake and nothing else; the identity headers it got were not the client's.
    const seen = gw.app.seen.slice(before);
    expect(seen.map((s) => s.url)).toEqual(['/public/chat']);
    expect(seen[0]!.headers['x-claimgate-user']).toBeUndefined();
    expect(r.text).not.toContain('/admin/secret');
  });

  it.each(['h2c', 'websocket, h2c', 'WebSocket/2', 'TLS/1.0'])('Upgrade: %s is refused with 400 upgrade_not_supported', async (upgrade) => {
    const before = gw.app.seen.length;
    const r = await smuggle(gw.url, upgrade);
    expect(statusOf(r.text)).toBe(400);
    expect(r.text).toMatch(/^HTTP\/1\.1 400 upgrade_not_supported/);
    expect(r.closed).toBe(true);
    expect(gw.app.seen.length).toBe(before);
  });

  it('a WebSocket handshake without a valid Sec-WebSocket-Key is refused with 400', async () => {
    const res = await new Promise<number>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port) });
      let text = '';
      s.on('data', (c) => (text += String(c)));
      s.on('close', () => resolve(statusOf(text)));
      s.write('GET /public/chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: short\r\n\r\n');
    });
    expect(res).toBe(400);
  });
});

/** An app that answers every Upgrade with a 101 built by `reply`, then records whatever arrives on the socket. */
async function startFakeSwitcher(reply: (req: IncomingMessage) => string) {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_q, r) => r.end('plain'));
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    sockets.add(socket);
    socket.write(reply(req));
    socket.on('data', (d) => received.push(String(d)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    received,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('an app 101 that does not match the handshake opens no tunnel', () => {
  let reply: (req: IncomingMessage) => string = () => '';
  let app: Awaited<ReturnType<typeof startFakeSwitcher>>;
  let gw: TestGateway;
  beforeAll(async () => {
    app = await startFakeSwitcher((req) => reply(req));
    gw = await startTestGateway({ routes: ROUTES, upstream: { url: app.url, timeoutSeconds: 2 } });
  });
  afterAll(async () => {
    await gw?.close();
    await app?.close();
  });

  const cases: [string, (req: IncomingMessage) => string][] = [
    ['a wrong Sec-WebSocket-Accept', () => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptOf(newKey())}\r\n\r\n`],
    ['no Sec-WebSocket-Accept', () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'],
    [
      'Upgrade: h2c instead of websocket',
      (req) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptOf(String(req.headers['sec-websocket-key']))}\r\n\r\n`,
    ],
  ];
  it.each(cases)('%s: 502, the connection closes, later bytes never reach the app', async (_name, make) => {
    reply = make;
    app.received.length = 0;
    const r = await smuggle(gw.url);
    expect(statusOf(r.text)).toBe(502);
    expect(r.text).toMatch(/^HTTP\/1\.1 502 upstream_upgrade_invalid/);
    expect(r.closed).toBe(true);
    expect(app.received.join('')).not.toContain('/admin/secret');
  });
});

/** A minimal WebSocket server: correct handshake, greets, and echoes one short masked text frame back. */
async function startWebSocketApp() {
  const handshakes: IncomingMessage['headers'][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_q, r) => r.end('plain'));
  const frame = (text: string) => Buffer.concat([Buffer.from([0x81, Buffer.byteLength(text)]), Buffer.from(text)]);
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    sockets.add(socket);
    handshakes.push(req.headers);
    const key = String(req.headers['sec-websocket-key']);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptOf(key)}\r\n\r\n`);
    socket.write(frame('hello'));
    socket.on('data', (d: Buffer) => {
      const opcode = d[0]! & 0x0f;
      if (opcode === 8) return void socket.end(Buffer.from([0x88, 0]));
      if (opcode !== 1) return;
      const len = d[1]! & 0x7f;
      const mask = d.subarray(2, 6);
      const payload = Buffer.from(d.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]!));
      socket.write(frame(`echo:${payload.toString()}`));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    handshakes,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('a genuine WebSocket still works, with route rules and header stripping on its handshake', () => {
  let gw: TestGateway;
  let app: Awaited<ReturnType<typeof startWebSocketApp>>;
  beforeAll(async () => {
    app = await startWebSocketApp();
    gw = await startTestGateway({ routes: ROUTES, upstream: { url: app.url, timeoutSeconds: 1 } });
  });
  afterAll(async () => {
    await gw?.close();
    await app?.close();
  });

  const converse = (url: string, headers: Record<string, string>, idleMs = 0) =>
    new Promise<string[]>((resolve, reject) => {
      const ws = new WebSocket(url, { headers } as never);
      const got: string[] = [];
      ws.onmessage = (e) => {
        got.push(String(e.data));
        if (got.length === 1) setTimeout(() => ws.send('ping'), idleMs);
        else ws.close();
      };
      ws.onclose = () => resolve(got);
      ws.onerror = (e) => reject(new Error(`websocket error: ${String((e as { message?: string }).message ?? e.type)}`));
    });

  it('an anonymous client on a public route talks to the app; its forged identity headers never get there', async () => {
    const got = await converse(`${gw.url.replace('http', 'ws')}/public/chat`, { 'X-Claimgate-User': 'boss', 'X-Claimgate-Roles': 'admin' });
    expect(got).toEqual(['hello', 'echo:ping']);
    const seen = app.handshakes.at(-1)!;
    expect(seen['x-claimgate-user']).toBeUndefined();
    expect(seen['x-claimgate-roles']).toBeUndefined();
  });

  it('an open tunnel is not cut by the upstream answer timeout while it is idle', async () => {
    const got = await converse(`${gw.url.replace('http', 'ws')}/public/chat`, {}, 1500);
    expect(got).toEqual(['hello', 'echo:ping']);
  });

  it('route rules apply to the handshake: a viewer gets 403 on /admin/*, an admin gets through with its own headers', async () => {
    const sso = async (groups: string[], name: string) =>
      cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ groups, preferred_username: name, sub: `u-${name}` })}`)).headers['set-cookie']);
    const viewer = await sso([], 'viewer1');
    const before = app.handshakes.length;
    await expect(converse(`${gw.url.replace('http', 'ws')}/admin/live`, { cookie: viewer })).rejects.toThrow();
    expect(app.handshakes.length).toBe(before);

    const admin = await sso(['bi-admins'], 'admin1');
    const got = await converse(`${gw.url.replace('http', 'ws')}/admin/live`, { cookie: admin, 'X-Claimgate-User': 'boss' });
    expect(got).toEqual(['hello', 'echo:ping']);
    expect(app.handshakes.at(-1)!['x-claimgate-user']).toBe('admin1');
  });
});

describe('against a real nginx serving files', () => {
  const bin = nginxBinary();
  const mode = requireBinary('nginx', bin !== null);
  const d = mode === 'run' ? describe : describe.skip;
  d('nginx answers the handshake with 200 and keeps the connection alive', () => {
    let dir: string;
    let child: ChildProcess;
    let gw: TestGateway;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'claimgate-static-'));
      mkdirSync(join(dir, 'www', 'public'), { recursive: true });
      mkdirSync(join(dir, 'www', 'admin'), { recursive: true });
      mkdirSync(join(dir, 'tmp'));
      writeFileSync(join(dir, 'www', 'public', 'chat'), 'public page\n');
      writeFileSync(join(dir, 'www', 'admin', 'secret'), 'TOP-SECRET-FILE\n');
      const port = await freePort();
      const asRoot = process.getuid?.() === 0;
      writeFileSync(
        join(dir, 'nginx.conf'),
        `${asRoot ? 'user root root;\n' : ''}worker_processes 1;
daemon off;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_timeout 30s;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
  }
}
`,
      );
      child = spawn(bin!, ['-p', dir, '-e', `${dir}/error.log`, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/public/chat`)).ok) break;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`nginx did not start: ${readFileSync(join(dir, 'error.log'), 'utf8')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      gw = await startTestGateway({ routes: ROUTES, upstream: { url: `http://127.0.0.1:${port}`, timeoutSeconds: 2 } });
    });
    afterAll(async () => {
      await gw?.close();
      if (child && child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGQUIT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('the file is relayed, the connection closed, and the pipelined request for /admin/secret never reaches nginx', async () => {
      const r = await smuggle(gw.url);
      expect(statusOf(r.text)).toBe(200);
      expect(r.text).toContain('public page');
      expect(r.text).not.toContain('TOP-SECRET-FILE');
      expect(r.closed).toBe(true);
      await new Promise((res) => setTimeout(res, 200));
      const log = readFileSync(join(dir, 'access.log'), 'utf8');
      expect(log).toContain('/public/chat');
      expect(log).not.toContain('/admin/secret');
    });
  });
});
