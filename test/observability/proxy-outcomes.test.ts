import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { UpstreamProxy } from '../../src/features/proxy/proxy.js';
import { Outcomes, type ProxyObservation } from '../../src/observability/outcomes.js';
import { toGatewayError } from '../../src/web/problem.js';
import { call } from '../helpers/gateway.js';

/** What the proxy tells its observers (the latency histogram by status class) for each proxied answer. */
describe('the proxy reports every answer it relays or fails', () => {
  const seen: ProxyObservation[] = [];
  let app: Server;
  let front: Server;
  let frontDown: Server;
  let proxy: UpstreamProxy;
  let down: UpstreamProxy;
  const listen = async (s: Server) => {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  };
  /** A front server that forwards through `p` and answers a failure as the gateway does (its status, no body). */
  const frontFor = (p: UpstreamProxy) =>
    createServer((req, res) => {
      p.forward(req, res, {}).catch((e: unknown) => {
        res.statusCode = toGatewayError(e).status;
        res.end();
      });
    });

  beforeAll(async () => {
    app = createServer((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('late'), 120);
      else res.writeHead(req.url === '/missing' ? 404 : 201).end('ok');
    });
    const appUrl = await listen(app);
    const outcomes = new Outcomes();
    outcomes.onProxy((e) => seen.push(e));
    proxy = new UpstreamProxy(appUrl, { timeoutSeconds: 5, outcomes });
    // Nothing listens on port 1: the connection is refused.
    down = new UpstreamProxy('http://127.0.0.1:1', { timeoutSeconds: 5, outcomes });
    front = frontFor(proxy);
    frontDown = frontFor(down);
  });
  afterAll(async () => {
    await Promise.all([proxy.close(), down.close()]);
    await Promise.all([app, front, frontDown].map((s) => new Promise((r) => s.close(r))));
  });

  it('the answer status and the time to its last byte, for relayed answers and refused connections', async () => {
    const url = await listen(front);
    const downUrl = await listen(frontDown);
    expect((await call(`${url}/page`)).status).toBe(201);
    expect((await call(`${url}/missing`)).status).toBe(404);
    expect((await call(`${url}/slow`)).status).toBe(200);
    expect((await call(`${downUrl}/page`)).status).toBe(502);
    expect(seen.map((e) => e.status)).toEqual([201, 404, 200, 502]);
    expect(seen[2]!.seconds).toBeGreaterThanOrEqual(0.1);
    for (const e of seen) expect(e.seconds).toBeGreaterThan(0);
  });
});
