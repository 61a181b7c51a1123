/**
 * The Node limit: a proxy with no authentication at all, an undici pool to the upstream, one process per core
 * (node:cluster), as claimgate runs. `node --import tsx bench/bare-proxy.ts PORT UPSTREAM WORKERS [HEADERS.json]`.
 *
 * With a HEADERS file it also sends what claimgate sends the app besides the request itself (those identity
 * headers, a fresh X-Request-Id, X-Forwarded-For/-Proto/-Host) and drops the Cookie header, as claimgate drops its
 * session cookie: the same bytes on the wire without deciding anything, so the gap to claimgate is its own work.
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, upstream, workers, headersFile] = [Number(process.argv[2]), process.argv[3]!, Number(process.argv[4] ?? 1), process.argv[5]];
const identity = headersFile ? (JSON.parse(readFileSync(headersFile, 'utf8')) as Record<string, string>) : null;
if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  // Exits on SIGTERM (the bench's stop) so that a --cpu-prof profile is written.
  process.on('SIGTERM', () => process.exit(0));
  const pool = new Pool(upstream, { connections: 128, pipelining: 1 });
  const host = new URL(upstream).host;
  createServer((req, res) => {
    const headers: Record<string, string | string[] | undefined> = {};
    for (const name in req.headers) {
      if (name === 'connection' || name === 'host' || (identity && name === 'cookie')) continue;
      headers[name] = req.headers[name];
    }
    if (identity) {
      headers['x-request-id'] = randomUUID();
      headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
      headers['x-forwarded-proto'] = 'http';
      headers['x-forwarded-host'] = host;
      Object.assign(headers, identity);
    }
    pool
      .stream({ path: req.url ?? '/', method: (req.method ?? 'GET') as 'GET', headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, ({ statusCode, headers: h }) => {
        delete h.connection;
        delete h['keep-alive'];
        delete h['transfer-encoding'];
        res.writeHead(statusCode, h as Record<string, string>);
        return res;
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
  }).listen(port, '127.0.0.1');
}
