import { recordAudit } from '../../../store/audit-log.js';
import type { AdminDeps } from '../deps.js';
import { userToJson } from '../../../store/users/index.js';
import { defineRoute, type AdminRoute } from '../route-table.js';
import { idParams, list, listUsersQuery, sessionSchema, userPatchSchema, userSchema } from '../schemas.js';
import { deleteUser, listUsers, patchUser, resolveUser } from '../user-admin.js';
import { sessionRef } from '../session-ref.js';

const iso = (ms: number) => new Date(ms).toISOString();

export function userRoutes(deps: AdminDeps): AdminRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/users',
      tag: 'users',
      scope: 'admin:read',
      summary: 'List and search users',
      description: '`q` matches usercode, e-mail and display name; keyset pagination with `cursor`.',
      query: listUsersQuery,
      response: list(userSchema),
      handler: async ({ query }) => {
        const r = await listUsers(deps.knex, query);
        return { items: r.items.map(userToJson), nextCursor: r.nextCursor };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id',
      tag: 'users',
      scope: 'admin:read',
      summary: 'Get a user by id or usercode',
      params: idParams,
      response: userSchema,
      errors: [404],
      handler: async ({ params }) => userToJson(await resolveUser(deps, params.id)),
    }),
    defineRoute({
      method: 'patch',
      path: '/users/:id',
      tag: 'users',
      scope: 'admin:write',
      summary: 'Change lifecycle, profile fields or admin-granted roles (JSON merge patch)',
      description:
        'Suspending ends every session at once; reactivating does not revive them. `adminRoles` replaces the roles of the `admin` source, which logins never touch.',
      params: idParams,
      body: userPatchSchema,
      bodyTypes: ['application/merge-patch+json', 'application/json'],
      response: userSchema,
      errors: [404, 409, 415],
      handler: async ({ params, body, actor }) => userToJson(await patchUser(deps, await resolveUser(deps, params.id), body, actor)),
    }),
    defineRoute({
      method: 'delete',
      path: '/users/:id',
      tag: 'users',
      scope: 'admin:write',
      summary: 'Delete a user for good (the audit trail stays)',
      params: idParams,
      errors: [404],
      handler: async ({ params, actor }) => {
        await deleteUser(deps, await resolveUser(deps, params.id), actor);
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id/sessions',
      tag: 'users',
      scope: 'admin:read',
      summary: "The user's live sessions",
      params: idParams,
      response: list(sessionSchema),
      errors: [404],
      handler: async ({ params }) => {
        const user = await resolveUser(deps, params.id);
        const sessions = await deps.sessions.listForUser(user.id);
        return {
          items: sessions.map((s) => ({
            ref: sessionRef(s.idHash),
            issuerId: s.issuerId,
            createdAt: iso(s.createdAt),
            lastSeenAt: iso(s.lastSeenAt),
            idleExpiresAt: iso(s.idleExpiresAt),
            absoluteExpiresAt: iso(s.absoluteExpiresAt),
          })),
          nextCursor: null,
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/users/:id/sessions',
      tag: 'users',
      scope: 'admin:write',
      summary: "End every session of the user (on every instance within a second)",
      params: idParams,
      errors: [404],
      handler: async ({ params, actor }) => {
        const user = await resolveUser(deps, params.id);
        const ended = await deps.sessions.revokeForUser(user.id);
        await recordAudit(deps.knex, { type: 'sessions_revoked', userId: user.id, usercode: user.usercode, actor, source: 'admin', detail: { ended } });
        // Cached sessions are keyed by their owner: a user message drops them here and on every other process.
        await deps.bus.publish({ kind: 'user', id: user.id });
        return undefined;
      },
    }),
  ];
}
