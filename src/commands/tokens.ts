import { configFromFlag, parseFlags, UsageError, type CliIo } from '../cli.js';
import { openDatabase } from '../db/index.js';
import { CredentialStore, parseScopes, SCOPES, type Credential } from '../credentials/index.js';
import { GatewayError } from '../errors.js';

const USAGE = 'usage: claimgate tokens create --name NAME --scopes S1,S2 [--expires-in 90d] [--json] | tokens list [--json] | tokens revoke NAME';

/** `90d`, `12h`, `30m`, `3600s` (or a bare number of seconds) -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})([smhdw]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--expires-in "${text}" is not a duration (e.g. 90d, 12h, 30m)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  const ms = Number(m[1]) * unit * 1000;
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

  const { config } = configFromFlag(values.config as string | undefined, io);
  const db = await openDatabase(config.database);
  try {
    if (config.database.migrate) await db.migrate();
    const store = new CredentialStore(db.knex, { onRevoked: (id) => db.notify('claimgate_invalidate', `credential:${id}`) });
    if (sub === 'create') {
      let created;
      try {
        created = await store.create({ ...createInput!, createdBy: 'cli' });
      } catch (e) {
        if (e instanceof GatewayError && e.status < 500) throw new UsageError(e.publicMessage);
        throw e;
      }
      const { credential, token, clientSecret } = created;
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
    if (sub === 'list') {
      const list = await store.list();
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
    const revoked = await store.revoke(positionals[0]!);
    if (!revoked) {
      io.err(`claimgate tokens: no live credential named "${positionals[0]}"`);
      return 1;
    }
    io.err(`revoked credential "${revoked.name}"`);
    return 0;
  } finally {
    await db.close();
  }
}

function publicView(c: Credential) {
  return { name: c.name, clientId: c.clientId, scopes: c.scopes, createdAt: c.createdAt, expiresAt: c.expiresAt, lastUsedAt: c.lastUsedAt };
}
