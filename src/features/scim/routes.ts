import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Knex } from 'knex';
import type { Config } from '../../core/config/schema.js';
import type { InvalidationBus } from '../../core/cache/invalidation.js';
import type { ApiAuthenticator } from '../../core/credentials/index.js';
import type { CompiledNameRule } from '../../core/mapping/compile.js';
import type { GroupRoles } from '../../core/scim/user-roles.js';
import type { Logger } from '../../observability/logger.js';
import type { Feature } from '../../web/feature.js';
import { noteRequestError } from '../../observability/exception-log.js';
import { REQUEST_LOG_PATHS } from '../../observability/request-log.js';
import { routeTemplate } from '../../observability/route-template.js';
import type { ScimDeps } from './deps.js';
import { KINDS, list, resourceType, SCHEMAS, schemaResource, serviceProviderConfig } from './discovery.js';
import { ScimGroups } from './group-service.js';
import { listParams } from './list.js';
import { parseProjection } from './projection.js';
import { notFound, ScimError, sendScim, sendScimError } from './scim-error.js';
import { GROUP_KIND, USER_KIND, type ResourceKind } from './schema.js';
import { ScimUsers } from './user-service.js';
import { ScimReadLimit } from './read-limit.js';
import { DEFAULT_ENTERPRISE_TARGETS, type EnterpriseField } from '../../core/scim/user-roles.js';

type Handler = (req: Request, res: Response) => Promise<void>;

/** The SCIM role rules in force at each write: a stored version, else the file's (changed through the admin API). */
export interface ScimRuleSource {
  get(): { groupRoles: GroupRoles; compiled: CompiledNameRule[] };
}

/** What the SCIM service uses (built by the composition root). */
export interface ScimFeatureDeps {
  config: Pick<Config, 'publicUrl' | 'basePath' | 'provisioning' | 'limits' | 'database'>;
  knex: Knex;
  bus: Pick<InvalidationBus, 'publish'>;
  credentials: { auth: Pick<ApiAuthenticator, 'require'> };
  logger: Logger;
  now: () => number;
  /** The role rules in force (the admin capability holds them). */
  roleRules: ScimRuleSource;
}

/** The SCIM 2.0 service at `<basePath>/scim/v2` (RFC 7644), scope `scim`. Every error is a SCIM error body. */
export function createScim(feature: ScimFeatureDeps): Feature {
  return { routes: (router) => scimRoutes(router, feature) };
}

function scimRoutes(router: Router, feature: ScimFeatureDeps): void {
  const baseUrl = `${feature.config.publicUrl.replace(/\/+$/, '')}${feature.config.basePath}/scim/v2`;
  const rules = feature.roleRules;
  const deps: ScimDeps = {
    knex: feature.knex,
    publish: (id) => void feature.bus.publish({ kind: 'user', id }),
    now: feature.now,
    // The rules in force at each write: a stored version, else the file's (changed through the admin API).
    get groupRoles() {
      return rules.get().groupRoles;
    },
    allowedRoles: feature.config.provisioning.scim.allowedRoles,
    idpSource: feature.config.provisioning.scim.idpSource,
    get userRoles() {
      return rules.get().compiled;
    },
    enterprise: { ...DEFAULT_ENTERPRISE_TARGETS, ...(feature.config.provisioning.scim.enterprise as Partial<Record<EnterpriseField, string | null>>) },
    baseUrl,
  };
  const users = new ScimUsers(deps);
  const groups = new ScimGroups(deps);
  const r = express.Router({ caseSensitive: false, strict: false });

  const actors = new WeakMap<Request, string>();
  const actor = (req: Request) => actors.get(req) ?? null;
  r.use((req, _res, next) => {
    feature.credentials.auth
      .require(req, 'scim')
      .then((p) => {
        actors.set(req, `credential:${p.credential.name}`);
        next();
      })
      .catch(next);
  });
  const reads = new ScimReadLimit(feature.config.limits.scimReadsPerCredential, 'for this credential');
  // Whatever the number of SCIM clients, their reads leave at least half of this process's pool to sign-ins.
  const allReads = new ScimReadLimit(Math.max(1, Math.floor(feature.config.database.poolMax / 2)), 'for all SCIM clients together');
  const isRead = (req: Request) => req.method === 'GET' || req.method === 'HEAD' || (req.method === 'POST' && /\/\.search\/?$/i.test(req.path));
  r.use(reads.middleware((req) => (isRead(req) ? actor(req) : null)));
  r.use(allReads.middleware((req) => (isRead(req) ? 'every credential' : null)));
  // Entra and Okta send application/scim+json; plain application/json is accepted too.
  r.use(express.json({ limit: feature.config.limits.bodyBytes, type: ['application/scim+json', 'application/json', 'application/*+json'] }));

  const h =
    (fn: Handler) =>
    (req: Request, res: Response, next: NextFunction): void => {
      fn(req, res).catch(next);
    };
  const body = (req: Request) => {
    if (req.body === undefined) throw new ScimError(400, 'The request needs a JSON body (application/scim+json).', 'invalidSyntax');
    return req.body as unknown;
  };

  r.get('/ServiceProviderConfig', h(async (_req, res) => sendScim(res, 200, serviceProviderConfig(baseUrl))));
  r.get('/ResourceTypes', h(async (_req, res) => sendScim(res, 200, list(KINDS.map((k) => resourceType(k, baseUrl))))));
  r.get(
    '/ResourceTypes/:name',
    h(async (req, res) => {
      const kind = KINDS.find((k) => k.name.toLowerCase() === String(req.params.name).toLowerCase());
      if (!kind) throw notFound('ResourceType');
      sendScim(res, 200, resourceType(kind, baseUrl));
    }),
  );
  r.get('/Schemas', h(async (_req, res) => sendScim(res, 200, list(SCHEMAS.map((s) => schemaResource(s, baseUrl))))));
  r.get(
    '/Schemas/:id',
    h(async (req, res) => {
      const s = SCHEMAS.find((x) => x.id.toLowerCase() === String(req.params.id).toLowerCase());
      if (!s) throw notFound('Schema');
      sendScim(res, 200, schemaResource(s, baseUrl));
    }),
  );

  const resources = (path: string, kind: ResourceKind, svc: ScimUsers | ScimGroups) => {
    const projectionOf = (src: Record<string, unknown>) => parseProjection(kind, src.attributes, src.excludedAttributes);
    r.get(
      path,
      h(async (req, res) => {
        const q = req.query as Record<string, unknown>;
        sendScim(res, 200, await svc.list(listParams(q), projectionOf(q)));
      }),
    );
    r.post(
      `${path}/.search`,
      h(async (req, res) => {
        const b = body(req) as Record<string, unknown>;
        const attrs = (v: unknown) => (Array.isArray(v) ? v.join(',') : v);
        const src = { ...b, attributes: attrs(b.attributes), excludedAttributes: attrs(b.excludedAttributes) };
        sendScim(res, 200, await svc.list(listParams(src), projectionOf(src)));
      }),
    );
    r.post(
      path,
      h(async (req, res) => {
        const created = await svc.create(body(req), actor(req));
        const location = (created.meta as { location: string }).location;
        sendScim(res, 201, created, { Location: location });
      }),
    );
    r.get(
      `${path}/:id`,
      h(async (req, res) => {
        sendScim(res, 200, await svc.get(String(req.params.id), projectionOf(req.query as Record<string, unknown>)));
      }),
    );
    r.put(
      `${path}/:id`,
      h(async (req, res) => {
        sendScim(res, 200, await svc.replace(String(req.params.id), body(req), actor(req)));
      }),
    );
    r.patch(
      `${path}/:id`,
      h(async (req, res) => {
        const result = await svc.patch(String(req.params.id), body(req), actor(req));
        // Users answer with the resource; groups with 204, as their member list may be long.
        if (result) sendScim(res, 200, result);
        else sendScim(res, 204, null);
      }),
    );
    r.delete(
      `${path}/:id`,
      h(async (req, res) => {
        await svc.delete(String(req.params.id), actor(req));
        sendScim(res, 204, null);
      }),
    );
  };
  resources('/Users', USER_KIND, users);
  resources('/Groups', GROUP_KIND, groups);

  r.use((_req: Request, _res: Response, next: NextFunction) => next(notFound('Resource')));
  r.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = sendScimError(res, err);
    if (e.status >= 500) noteRequestError(res, err);
    if (e.status >= 500) feature.logger.error('SCIM request failed', { route: routeTemplate(req, feature.config.basePath, REQUEST_LOG_PATHS), code: e.code, cause: err });
    else feature.logger.debug('SCIM request refused', { route: routeTemplate(req, feature.config.basePath, REQUEST_LOG_PATHS), method: req.method, status: e.status, code: e.code });
  });
  router.use('/scim/v2', r);
}
