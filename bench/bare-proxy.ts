/**
 * The Node limit: a proxy with no authentication at all, an undici pool to the upstream, one process per core
 * (node:cluster), as claimgate runs. `node --import tsx bench/bare-proxy.ts PORT UPSTREAM WORKERS`.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, upstream, workers] = [Number(process.argv[2]), process.argv[3]!, Number(process.argv[4] ?? 1)];
if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  const pool = new Pool(upstream, { connections: 128, pipelining: 1 });
  createServer((req, res) => {
    const headers = { ...req.headers };
    delete headers.connection;
    delete headers.host;
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
