import { recordAudit } from '../../../store/audit-log.js';
import { durationMs } from '../../../core/credentials/duration.js';
import { GatewayError } from '../../../core/errors/errors.js';
import type { AdminDeps } from '../deps.js';
import { defineRoute, type AdminRoute } from '../route-table.js';
import { credentialSchema, list, nameParams, tokenCreateBody, tokenCreated, tokensQuery } from '../schemas.js';

export function tokenRoutes(deps: AdminDeps): AdminRoute[] {
  const store = deps.credentials.store;
  return [
    defineRoute({
      method: 'get',
      path: '/tokens',
      tag: 'tokens',
      scope: 'admin:read',
      summary: 'API credentials (never their secrets)',
      query: tokensQuery,
      response: list(credentialSchema),
      handler: async ({ query }) => ({ items: await store.list({ includeRevoked: query.includeRevoked === 'true' }), nextCursor: null }),
    }),
    defineRoute({
      method: 'post',
      path: '/tokens',
      tag: 'tokens',
      scope: 'admin:write',
      summary: 'Create an API credential; the token and client secret are shown once',
      body: tokenCreateBody,
      response: tokenCreated,
      errors: [409],
      handler: async ({ body, actor, res }) => {
        const expiresAt = body.expiresIn ? new Date(deps.now() + durationMs(body.expiresIn)!) : null;
        const created = await store.create({ name: body.name, scopes: body.scopes, expiresAt, createdBy: actor });
        await recordAudit(deps.knex, {
          type: 'credential_created',
          actor,
          source: 'admin',
          detail: { name: created.credential.name, id: created.credential.id, scopes: created.credential.scopes, expiresAt: created.credential.expiresAt },
        });
        res.status(201);
        return { ...created.credential, token: created.token, clientSecret: created.clientSecret };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/tokens/:name',
      tag: 'tokens',
      scope: 'admin:write',
      summary: 'Revoke a credential (by name or id); effective at once everywhere',
      params: nameParams,
      errors: [404],
      handler: async ({ params, actor }) => {
        const revoked = await store.revoke(params.name);
        if (!revoked) throw new GatewayError('credential_not_found', 404, `There is no live credential called "${params.name}".`);
        await recordAudit(deps.knex, { type: 'credential_revoked', actor, source: 'admin', detail: { name: revoked.name, id: revoked.id } });
        return undefined;
      },
    }),
  ];
}
