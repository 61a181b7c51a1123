import { configFromFlag, parseFlags, UsageError, type CliIo } from './io.js';
import { openDatabase } from '../../store/db/index.js';
import { parseScopes, SCOPES, type Credential } from '../../core/credentials/index.js';
import { CredentialStore } from '../../store/credentials.js';
import { GatewayError } from '../../core/errors/errors.js';
import { resolve } from 'node:path';
import type { Config } from '../../core/config/schema.js';
import { DataDirLockedError, liveLockOwner } from '../../store/db/data-dir-lock.js';
import { callLocalAdmin } from '../../features/admin/local-socket.js';
import { durationMs } from '../../core/credentials/duration.js';
import { runTokenOp, type TokenOp, type TokenOpResult } from '../../store/token-ops.js';

const USAGE = 'usage: claimgate tokens create --name NAME --scopes S1,S2 [--expires-in 90d] [--json] | tokens list [--json] | tokens revoke NAME';

/** `90d`, `12h`, `30m`, `3600s` (or a bare number of seconds) -> milliseconds. */
export function parseDuration(text: string): number {
  const ms = durationMs(text);
  if (ms === null) throw new UsageError(`--expires-in "${text}" is not a duration (e.g. 90d, 12h, 30m)`);
  if (ms <= 0) throw new UsageError('--expires-in must be positive');
  return ms;
}

/**
 * `claimgate tokens create|list|revoke`: API credentials. The secrets are printed once, at creation, and stored
 * only hashed. Revocation reaches every running instance at once through the database's NOTIFY channel.
 */
export async function tokensCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') throw new UsageError(sub ? `unknown subcommand "${sub}"; ${USAGE}` : USAGE);
  const { values, positionals } = parseFlags(
    rest,
    {
      config: { type: 'string', short: 'c' },
      name: { type: 'string' },
      scopes: { type: 'string' },
      'expires-in': { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  let createInput: { name: string; scopes: ReturnType<typeof parseScopes>['scopes']; expiresAt: Date | null } | undefined;
  if (sub === 'create') {
    if (!values.name) throw new UsageError('--name NAME is required');
    if (!values.scopes) throw new UsageError(`--scopes is required (any of ${SCOPES.join(', ')})`);
    const { scopes, unknown } = parseScopes(String(values.scopes));
    if (unknown.length) throw new UsageError(`unknown scope(s) ${unknown.join(', ')} (known: ${SCOPES.join(', ')})`);
    if (scopes.length === 0) throw new UsageError('--scopes names no scope');
    const expiresIn = values['expires-in'] === undefined ? null : parseDuration(String(values['expires-in']));
    createInput = { name: String(values.name), scopes, expiresAt: expiresIn === null ? null : new Date(Date.now() + expiresIn) };
  }
  if (sub === 'revoke' && positionals.length !== 1) throw new UsageError('usage: claimgate tokens revoke NAME');

  // Credentials live in the database: the rest of the file may name variables this shell does not set.
  const { config } = configFromFlag(values.config as string | undefined, io, ['database']);
  const op: TokenOp =
    sub === 'create'
      ? { op: 'create', ...createInput!, expiresAt: createInput!.expiresAt?.toISOString() ?? null }
      : sub === 'list'
        ? { op: 'list' }
        : { op: 'revoke', name: positionals[0]! };
  let result: TokenOpResult;
  try {
    result = await runAgainstDatabase(config, op);
  } catch (e) {
    if (e instanceof GatewayError && e.status < 500) throw new UsageError(e.publicMessage);
    throw e;
  }
  if (result.op === 'create') {
    const { credential, token, clientSecret } = result;
    if (values.json) {
      io.out(JSON.stringify({ name: credential.name, clientId: credential.clientId, clientSecret, token, scopes: credential.scopes, expiresAt: credential.expiresAt }));
    } else {
      io.out(
        [
          `created credential "${credential.name}" (scopes: ${credential.scopes.join(', ')}; expires: ${credential.expiresAt ?? 'never'})`,
          `token:         ${token}`,
          `client id:     ${credential.clientId}`,
          `client secret: ${clientSecret}`,
          'These secrets are shown once and cannot be read again.',
        ].join('\n'),
      );
    }
    return 0;
  }
  if (result.op === 'list') {
    const list = result.items;
    if (values.json) io.out(JSON.stringify({ items: list.map(publicView) }));
    else if (list.length === 0) io.out('no credentials');
    else {
      io.out(['NAME'.padEnd(24), 'SCOPES'.padEnd(40), 'CREATED'.padEnd(25), 'EXPIRES'.padEnd(25), 'LAST USED'].join(' '));
      for (const c of list) {
        io.out([c.name.padEnd(24), c.scopes.join(',').padEnd(40), c.createdAt.padEnd(25), (c.expiresAt ?? 'never').padEnd(25), c.lastUsedAt ?? 'never'].join(' '));
      }
    }
    return 0;
  }
  if (!result.revoked) {
    io.err(`claimgate tokens: no live credential named "${positionals[0]}"`);
    return 1;
  }
  io.err(`revoked credential "${result.revoked.name}"`);
  return 0;
}

/**
 * On the embedded database a running gateway owns the data directory: the command is sent to it over its local
 * admin socket. Otherwise the database is opened here; on PostgreSQL a revocation reaches every running
 * instance through NOTIFY.
 */
async function runAgainstDatabase(config: Config, op: TokenOp): Promise<TokenOpResult> {
  if (!config.database.url) {
    const dir = resolve(config.database.dataDir);
    const owner = liveLockOwner(dir);
    if (owner?.adminSocket) return callLocalAdmin(owner.adminSocket, op);
    if (owner) throw new DataDirLockedError(dir, owner);
  }
  const db = await openDatabase(config.database);
  try {
    if (config.database.migrate) await db.migrate();
    const store = new CredentialStore(db.knex, { onRevoked: (id) => db.notify('claimgate_invalidate', `credential:${id}`) });
    return await runTokenOp(store, db.knex, op);
  } finally {
    await db.close();
  }
}

function publicView(c: Credential) {
  return { name: c.name, clientId: c.clientId, scopes: c.scopes, createdAt: c.createdAt, expiresAt: c.expiresAt, lastUsedAt: c.lastUsedAt };
}
