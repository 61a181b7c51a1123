import express, { type Request, type Response, type Router } from 'express';
import { GatewayError } from '../../core/errors/errors.js';
import type { Knex } from 'knex';
import type { Config } from '../../core/config/schema.js';
import type { InvalidationBus } from '../../core/cache/invalidation.js';
import type { ApiAuthenticator } from '../../core/credentials/index.js';
import type { Feature } from '../../web/feature.js';
import { wrap } from '../../web/wrap.js';
import { MAX_SYNC_USERS, UserSync } from './sync-service.js';

/**
 * `POST <basePath>/api/v1/users/sync` (docs/provisioning.md#sync-api), scope `users:sync`: one user object, a list of at most 1,000,
 * or the analytics vendor's envelope (a list of `{ user, userRoles, … }`). Answers `200 { results }` with one
 * result per item; `400` only when the body is not JSON (or not an object or list), `413` past 1,000 users.
 */
export function createSync(deps: SyncDeps): Feature {
  return { routes: (router) => userSyncRoutes(router, deps) };
}

/** What the sync API uses (built by the composition root). */
export interface SyncDeps {
  config: Pick<Config, 'limits' | 'provisioning'>;
  knex: Knex;
  bus: Pick<InvalidationBus, 'publish'>;
  credentials: { auth: Pick<ApiAuthenticator, 'require'> };
  now: () => number;
}

function userSyncRoutes(router: Router, deps: SyncDeps): void {
  const service = new UserSync({
    knex: deps.knex,
    publish: (id) => void deps.bus.publish({ kind: 'user', id }),
    now: deps.now,
    allowedRoles: deps.config.provisioning.api.allowedRoles,
  });
  const actors = new WeakMap<Request, string>();
  const json = express.json({ limit: deps.config.limits.bodyBytes, type: ['application/json', 'application/*+json'], strict: false });
  router.post(
    '/api/v1/users/sync',
    (req, _res, next) => {
      deps.credentials.auth
        .require(req, 'users:sync')
        .then((p) => {
          actors.set(req, `credential:${p.credential.name}`);
          next();
        })
        .catch(next);
    },
    json,
    wrap(async (req: Request, res: Response) => {
      const body: unknown = req.body;
      let items: unknown[];
      if (Array.isArray(body)) items = body;
      else if (typeof body === 'object' && body !== null) items = [body];
      else throw new GatewayError('body_malformed', 400, 'The body must be a JSON user object or a list of them.');
      if (items.length > MAX_SYNC_USERS) {
        throw new GatewayError('too_many_users', 413, `At most ${MAX_SYNC_USERS} users per request; split the list.`);
      }
      const results = await service.sync(items, actors.get(req) ?? null);
      res.setHeader('Cache-Control', 'no-store');
      res.status(200).json({ results });
    }),
  );
}
