import type { Knex } from 'knex';
import { recordAudit } from './audit-log.js';
import type { Credential, Scope } from '../core/credentials/index.js';
import type { CredentialStore } from './credentials.js';

/** What `claimgate tokens` asks for, the same whether it opens the database or talks to a running gateway. */
export type TokenOp =
  | { op: 'create'; name: string; scopes: Scope[]; expiresAt: string | null }
  | { op: 'list' }
  | { op: 'revoke'; name: string };

export type TokenOpResult =
  | { op: 'create'; credential: Credential; token: string; clientSecret: string }
  | { op: 'list'; items: Credential[] }
  | { op: 'revoke'; revoked: Credential | null };

/** Who the audit trail names for a change made from the command line. */
export const CLI_ACTOR = 'cli';

/** Runs one credential operation and writes its audit event (as the admin API does for its own changes). */
export async function runTokenOp(store: CredentialStore, knex: Knex, input: TokenOp): Promise<TokenOpResult> {
  if (input.op === 'list') return { op: 'list', items: await store.list() };
  if (input.op === 'create') {
    const created = await store.create({
      name: input.name,
      scopes: input.scopes,
      expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
      createdBy: CLI_ACTOR,
    });
    await recordAudit(knex, {
      type: 'credential_created',
      actor: CLI_ACTOR,
      source: 'cli',
      detail: { name: created.credential.name, id: created.credential.id, scopes: created.credential.scopes, expiresAt: created.credential.expiresAt },
    });
    return { op: 'create', ...created };
  }
  const revoked = await store.revoke(input.name);
  if (revoked) await recordAudit(knex, { type: 'credential_revoked', actor: CLI_ACTOR, source: 'cli', detail: { name: revoked.name, id: revoked.id } });
  return { op: 'revoke', revoked };
}
