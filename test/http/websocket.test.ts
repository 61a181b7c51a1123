import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** Opens an Upgrade tunnel through the gateway; resolves with the socket, or the refusal status. */
function openTunnel(url: string, headers: Record<string, string>): Promise<{ socket?: Socket; status?: number; raw?: string }> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const req = request(`${url}/ws`, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13', ...headers } });
    req.on('upgrade', (_res, socket) => resolve({ socket }));
    req.on('response', (res) => resolve({ status: res.statusCode, raw: JSON.stringify(res.headers) }));
    req.on('error', reject);
    req.end();
  });
}

const closed = (s: Socket, ms: number) =>
  new Promise<boolean>((r) => {
    if (s.destroyed) return r(true);
    const t = setTimeout(() => r(false), ms);
    s.once('close', () => (clearTimeout(t), r(true)));
  });

describe('WebSocket tunnels', () => {
  let gw: TestGateway;
  let ws: Server;
  const upstreamSockets = new Set<Socket>();
  beforeAll(async () => {
    // An upstream that accepts upgrades and echoes bytes back.
    ws = createServer((_q, r) => r.end('no upgrade'));
    ws.on('upgrade', (req, socket) => {
      upstreamSockets.add(socket as Socket);
      const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`);
      socket.on('data', (d) => socket.write(d));
    });
    await new Promise<void>((r) => ws.listen(0, '127.0.0.1', r));
    gw = await startTestGateway({ upstream: { url: `http://127.0.0.1:${(ws.address() as { port: number }).port}`, timeoutSeconds: 2 } });
  });
  afterAll(async () => {
    await gw?.close();
    for (const s of upstreamSockets) s.destroy();
    await new Promise((r) => ws.close(r));
  });


  const signIn = async (claims: Record<string, unknown> = {}) => cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token(claims)}`)).headers['set-cookie']);

  it('without credentials the upgrade is refused with 401 and a challenge', async () => {
    const r = await openTunnel(gw.url, {});
    expect(r.status).toBe(401);
    expect(r.raw).toMatch(/www-authenticate/);
  });

  it('a signed-in user gets a tunnel; logout closes it', async () => {
    const cookie = await signIn();
    const { socket } = await openTunnel(gw.url, { cookie });
    expect(socket).toBeDefined();
    const echoed = new Promise<string>((r) => socket!.once('data', (d) => r(String(d))));
    socket!.write('ping');
    expect(await echoed).toBe('ping');
    await call(`${gw.url}/claimgate/logout`, { method: 'POST', headers: { cookie } });
    expect(await closed(socket!, 5000)).toBe(true);
  });

  it('suspension and a role change close the tunnels of that user only', async () => {
    const cookie = await signIn({ preferred_username: 'wsuser', sub: 'u-ws' });
    const other = await signIn({ preferred_username: 'bystander', sub: 'u-by' });
    const mine = (await openTunnel(gw.url, { cookie })).socket!;
    const theirs = (await openTunnel(gw.url, { cookie: other })).socket!;
    const user = await gw.running.gateway.parts.users.getByUsercode('wsuser');
    await gw.running.gateway.parts.users.setLifecycle(user!.id, 'SUSPENDED');
    expect(await closed(mine, 5000)).toBe(true);
    expect(await closed(theirs, 300)).toBe(false);

    // A new login with other groups changes the user's roles: the open tunnel is re-admitted on reconnect.
    const t2 = (await openTunnel(gw.url, { cookie: other })).socket!;
    await call(`${gw.url}/claimgate/sso?jwt=${await gw.token({ preferred_username: 'bystander', sub: 'u-by', groups: ['bi-analysts'] })}`);
    expect(await closed(t2, 5000)).toBe(true);
    theirs.destroy();
  });
});
