import { chmodSync, mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GatewayError } from '../../core/errors/errors.js';
import type { Logger } from '../../observability/logger.js';
import type { CredentialStore } from '../../store/credentials.js';
import type { Knex } from 'knex';
import type { DataDirLock } from '../../store/db/data-dir-lock.js';
import { runTokenOp, type TokenOp, type TokenOpResult } from '../../store/token-ops.js';

/** Unix socket paths are limited to about 100 bytes; longer data directories get a private temporary directory. */
const MAX_SOCKET_PATH = 100;
const MAX_BODY = 64 * 1024;

/**
 * The embedded database can be open in one process only, so admin commands run inside the gateway that owns it:
 * it listens on a unix socket in a directory only its user can enter (mode 0700) and records the socket's path in
 * the data directory's lock file. Reaching the socket needs the file-system rights of that user, which is the
 * same trust as opening the data directory itself; nothing listens on the network.
 */
export async function startLocalAdminSocket(opts: {
  lock: DataDirLock;
  dataDir: string;
  store: CredentialStore;
  knex: Knex;
  logger: Logger;
}): Promise<{ path: string; close(): Promise<void> }> {
  let dir = join(opts.dataDir, 'admin');
  let temporary = false;
  if (join(dir, 'admin.sock').length > MAX_SOCKET_PATH) {
    dir = mkdtempSync(join(tmpdir(), 'claimgate-'));
    temporary = true;
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  const path = join(dir, 'admin.sock');
  try {
    unlinkSync(path); // left by a process that died; the lock already proved it is gone
  } catch {
    // none
  }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      void (async () => {
        let status = 200;
        let body: unknown;
        try {
          if (req.method !== 'POST' || req.url !== '/tokens') throw new GatewayError('not_found', 404, 'unknown local admin call');
          const op = JSON.parse(Buffer.concat(chunks).toString('utf8')) as TokenOp;
          body = await runTokenOp(opts.store, opts.knex, op);
          opts.logger.info('local admin command', { op: op.op, name: 'name' in op ? op.name : undefined });
        } catch (e) {
          status = e instanceof GatewayError ? e.status : 500;
          body = { error: e instanceof GatewayError ? e.publicMessage : 'the gateway could not run the command (see its log)' };
          if (!(e instanceof GatewayError)) opts.logger.error('local admin command failed', { cause: (e as Error).message });
        }
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path, readableAll: false, writableAll: false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  opts.lock.update({ adminSocket: path });
  return {
    path,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      opts.lock.update({ adminSocket: undefined });
      if (temporary) rmSync(dirname(path), { recursive: true, force: true });
      else rmSync(path, { force: true });
    },
  };
}

/** Sends one credential operation to the gateway listening on `socketPath`. */
export async function callLocalAdmin(socketPath: string, op: TokenOp): Promise<TokenOpResult> {
  const payload = JSON.stringify(op);
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method: 'POST', path: '/tokens', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let body: { error?: string } & Record<string, unknown>;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            reject(new Error('the running gateway gave an unreadable answer'));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) reject(new GatewayError('local_admin_refused', res.statusCode ?? 500, body.error ?? 'refused'));
          else resolve(body as unknown as TokenOpResult);
        });
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error('the running gateway did not answer within 15 s')));
    req.on('error', (e) => reject(new Error(`cannot reach the running gateway's admin socket ${socketPath}: ${e.message}`)));
    req.end(payload);
  });
}
