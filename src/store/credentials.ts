import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { ulid } from '../core/ids.js';
import { GatewayError } from '../core/errors/errors.js';
import type { Scope } from '../core/credentials/scopes.js';
import { CREDENTIAL_NAME, sha256, TOKEN_PREFIX, type Credential, type CredentialLookup, type NewCredential } from '../core/credentials/credential.js';

const SECRET_PREFIX = 'cgs_';

interface Row {
  id: string;
  name: string;
  client_id: string;
  secret_hash: string;
  token_hash: string;
  scopes: string[] | string;
  created_by: string | null;
  created_at: Date | string;
  expires_at: Date | string | null;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}

const iso = (v: Date | string | null) => (v === null ? null : (v instanceof Date ? v : new Date(v)).toISOString());

function toCredential(r: Row): Credential {
  return {
    id: r.id,
    name: r.name,
    clientId: r.client_id,
    scopes: (typeof r.scopes === 'string' ? JSON.parse(r.scopes) : r.scopes) as Scope[],
    createdBy: r.created_by,
    createdAt: iso(r.created_at)!,
    expiresAt: iso(r.expires_at),
    lastUsedAt: iso(r.last_used_at),
    revokedAt: iso(r.revoked_at),
  };
}

/**
 * API credentials in the database: each has a static bearer token and a client id/secret pair for
 * `/oauth/token`, both stored as SHA-256 hashes. Revocation is a timestamp, so the audit trail can still name a
 * revoked credential.
 */
export class CredentialStore implements CredentialLookup {
  private readonly now: () => number;

  constructor(
    private readonly knex: Knex,
    private readonly opts: {
      now?: () => number;
      /** Called after a revocation commits, to drop caches here and NOTIFY every other process. */
      onRevoked?: (id: string) => Promise<void> | void;
    } = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  async create(input: { name: string; scopes: Scope[]; expiresAt?: Date | null; createdBy?: string | null }): Promise<NewCredential> {
    if (!CREDENTIAL_NAME.test(input.name)) {
      throw new GatewayError('invalid_name', 'A credential name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit.');
    }
    if (input.scopes.length === 0) throw new GatewayError('invalid_scope', 'Give at least one scope.');
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const clientSecret = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row = {
      id: ulid(),
      name: input.name,
      client_id: randomUUID(),
      secret_hash: sha256(clientSecret),
      token_hash: sha256(token),
      scopes: JSON.stringify([...new Set(input.scopes)].sort()),
      created_by: input.createdBy ?? null,
      created_at: new Date(this.now()),
      expires_at: input.expiresAt ?? null,
    };
    try {
      await this.knex('api_credentials').insert(row);
    } catch (e) {
      if ((e as { code?: string }).code === '23505') {
        throw new GatewayError('credential_exists', `A credential named "${input.name}" already exists; revoke it first or pick another name.`);
      }
      throw e;
    }
    const stored = (await this.knex('api_credentials').where({ id: row.id }).first()) as Row;
    return { credential: toCredential(stored), token, clientSecret };
  }

  /** Live and revoked credentials, newest first. */
  async list(opts: { includeRevoked?: boolean } = {}): Promise<Credential[]> {
    const q = this.knex('api_credentials').orderBy('created_at', 'desc').orderBy('id', 'desc');
    if (!opts.includeRevoked) q.whereNull('revoked_at');
    return ((await q) as Row[]).map(toCredential);
  }

  async get(id: string): Promise<Credential | null> {
    const r = (await this.knex('api_credentials').where({ id }).first()) as Row | undefined;
    return r ? toCredential(r) : null;
  }

  /** Revokes the live credential called `name` (or with that id). Returns it, or null when there is none. */
  async revoke(nameOrId: string): Promise<Credential | null> {
    const rows = (await this.knex('api_credentials')
      .whereNull('revoked_at')
      .where((q) => q.where({ name: nameOrId }).orWhere({ id: nameOrId }))
      .update({ revoked_at: new Date(this.now()) })
      .returning('*')) as Row[];
    if (!rows[0]) return null;
    await this.opts.onRevoked?.(rows[0].id);
    return toCredential(rows[0]);
  }

  /** The credential a static bearer token belongs to, if live (not revoked, not expired). */
  async findByToken(token: string): Promise<Credential | null> {
    const r = (await this.knex('api_credentials').where({ token_hash: sha256(token) }).first()) as Row | undefined;
    return r && this.live(r) ? toCredential(r) : null;
  }

  /** Checks a client id and secret (for /oauth/token) in constant time; null when they do not match a live one. */
  async authenticateClient(clientId: string, secret: string): Promise<Credential | null> {
    if (!/^[0-9a-f-]{36}$/i.test(clientId)) return null;
    const r = (await this.knex('api_credentials').where({ client_id: clientId.toLowerCase() }).first()) as Row | undefined;
    const given = Buffer.from(sha256(secret));
    const expected = Buffer.from(r?.secret_hash ?? sha256(''));
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    return r && ok && this.live(r) ? toCredential(r) : null;
  }

  /** Records a use, at most once a minute per credential (so a busy client does not write a row per call). */
  async touch(c: Credential): Promise<void> {
    const at = this.now();
    if (c.lastUsedAt && at - Date.parse(c.lastUsedAt) < 60_000) return;
    c.lastUsedAt = new Date(at).toISOString();
    await this.knex('api_credentials').where({ id: c.id }).update({ last_used_at: new Date(at) });
  }

  isLive(c: Credential): boolean {
    return c.revokedAt === null && (c.expiresAt === null || Date.parse(c.expiresAt) > this.now());
  }

  private live(r: Row): boolean {
    return this.isLive(toCredential(r));
  }
}
