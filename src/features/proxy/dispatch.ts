import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestContext } from '../../observability/logger.js';
import type { Duplex } from 'node:stream';
import type { Config } from '../../core/config/schema.js';
import type { AssertionSigner } from '../../core/identity/assertion.js';
import type { InvalidationBus } from '../../core/cache/invalidation.js';
import type { InvalidatedCache } from '../../core/cache/invalidated-cache.js';
import type { Session } from '../../core/sessions/session.js';
import type { SessionStore } from '../../store/sessions.js';
import type { AuthState, Authenticator } from '../../core/sessions/authenticator.js';
import type { Logger } from '../../observability/logger.js';
import type { Tracing } from '../../observability/tracing.js';
import type { PageNav } from '../../web/page-nav.js';
import type { UpstreamProxy } from './proxy.js';
import { GatewayError } from '../../core/errors/errors.js';
import { makeHeaderFilter, buildIdentityHeaders } from '../../web/identity-headers.js';
import { compileRoutes, authorize } from '../../core/upstream/route-rules.js';
import { normalizeRequestPath, type NormalizedPath } from '../../core/upstream/path-normalize.js';
import { resolveClient, type ResolvedClient } from '../../web/client-ip.js';
import { sendError, wantsHtml, toGatewayError } from '../../web/problem.js';
import { logRefusal } from '../../observability/refusal-log.js';
import { namesUser } from '../../web/page-nav.js';
import type { OutgoingHeaders } from './proxy.js';
import { forwardableHeaders } from './proxy.js';
import type { AuthContext } from '../../core/sessions/authenticator.js';
import { TunnelRegistry } from './tunnels.js';
import { checkUpgradeRequest } from './upgrade.js';
import { strippedRequestHeaders } from '../../core/upstream/stripped-headers.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
/** What the front door learnt about a proxied request, so later steps need not work it out again. */
type RequestWithId = IncomingMessage & { requestId?: string; normalized?: NormalizedPath };

/** What the front door uses. */
export interface DispatcherDeps {
  config: Pick<Config, 'forwarding' | 'routes' | 'basePath' | 'publicUrl' | 'session' | 'trustedProxies' | 'upstream'>;
  logger: Logger;
  assertion: Pick<AssertionSigner, 'assertionFor' | 'cached'>;
  authenticator: Pick<Authenticator, 'authenticate'>;
  /** The app behind the gateway (`upstream.mode: proxy`), else null. */
  proxy: Pick<UpstreamProxy, 'forward' | 'forwardUpgrade'> | null;
  bus: InvalidationBus;
  authStates: Pick<InvalidatedCache<AuthState>, 'get'>;
  sessionCache: Pick<InvalidatedCache<Session>, 'get'>;
  sessions: Pick<SessionStore, 'isLive'>;
  pageNav: PageNav;
  /** Spans; when on, a proxied request's auth decision is a `claimgate.auth` span of its own. */
  tracing?: Pick<Tracing, 'enabled' | 'span' | 'annotate'>;
}

/**
 * The front door. Every request first loses any client-sent identity header (any case, `_` for `-`), on
 * every path and method, error paths included. Then the gateway's own paths go to Express; every other
 * path is the app's: authorised here on the hot path (no Express, no request log) and proxied.
 */
export function createDispatcher(deps: DispatcherDeps, gatewayApp: Handler) {
  const cfg = deps.config;
  const names = Object.values(cfg.forwarding.headerNames);
  const isIdentityHeader = memoByName(makeHeaderFilter(names));
  const isStripped = strippedRequestHeaders(cfg.forwarding.stripRequestHeaders);
  const notForApp = memoByName((name: string) => isIdentityHeader(name) || isStripped(name));
  // The same, plus the route headers (`Forwarded`, `X-Forwarded-*`...) when they are not believed, and our cookie
  // when it was the request's only one: dropped while copying rather than deleted after (a delete turns the header
  // object into a slow dictionary for undici's loops).
  const notForAppNorRoute = memoByName((name: string) => notForApp(name) || isRouteHeader(name));
  const notForAppNorCookie = (name: string) => name === 'cookie' || notForApp(name);
  const notForAppNorRouteNorCookie = (name: string) => name === 'cookie' || notForAppNorRoute(name);
  // Without trusted proxies (the default) no peer is believed: nothing to resolve per request.
  const trustsNoProxy = cfg.trustedProxies.length === 0;
  const untrusted: ResolvedClient = { ip: '', trusted: false };
  const routes = compileRoutes(cfg.routes);
  const base = cfg.basePath;
  const publicUrl = new URL(cfg.publicUrl);
  const publicProto = publicUrl.protocol.replace(':', '');
  const cookieName = cfg.session.cookieName;

  const stripIdentity = (req: IncomingMessage) => {
    const headers = req.headers;
    for (const name in headers) if (isIdentityHeader(name)) delete headers[name];
    // rawHeaders too, so nothing downstream (Express, logs) can see the client's version.
    const raw = req.rawHeaders;
    for (let i = raw.length - 2; i >= 0; i -= 2) if (isIdentityHeader(raw[i]!)) raw.splice(i, 2);
  };

  const basePrefix = `${base}/`;
  const isGatewayPath = (path: string) => path === base || path.startsWith(basePrefix);

  /** Request headers for the app: client headers minus identity/hop-by-hop/our cookie, plus ours. */
  const upstreamHeaders = (req: IncomingMessage, auth: AuthContext | null): OutgoingHeaders | Promise<OutgoingHeaders> => {
    // What a client says about the request's route (its address, scheme, host, original URI) is believed only
    // from a trusted proxy; from anyone else it is removed, so the app cannot build links to a forged host.
    const client = trustsNoProxy ? untrusted : resolveClient(req.socket.remoteAddress, req.headers, cfg.trustedProxies);
    const dropRoute = !client.trusted || !cfg.forwarding.forwardedHeaders;
    const cookie = req.headers.cookie;
    const kept = typeof cookie === 'string' ? withoutCookie(cookie, cookieName) : undefined;
    const headers = forwardableHeaders(
      req.headers,
      kept === '' ? (dropRoute ? notForAppNorRouteNorCookie : notForAppNorCookie) : dropRoute ? notForAppNorRoute : notForApp,
    );
    if (kept && typeof headers.cookie === 'string') headers.cookie = kept;
    const requestId = (req as RequestWithId).requestId ?? requestContext.getStore()?.requestId;
    if (requestId) headers['x-request-id'] = requestId;
    if (cfg.forwarding.forwardedHeaders) {
      const prior = client.trusted && typeof req.headers['x-forwarded-for'] === 'string' ? `${req.headers['x-forwarded-for']}, ` : '';
      headers['x-forwarded-for'] = `${prior}${req.socket.remoteAddress ?? ''}`;
      headers['x-forwarded-proto'] = client.trusted && client.proto ? client.proto : publicProto;
      headers['x-forwarded-host'] = client.trusted && client.host ? client.host : publicUrl.host;
    }
    if (!auth) return headers;
    const identity = identityHeaders(auth);
    return identity instanceof Promise ? identity.then((h) => Object.assign(headers, h)) : Object.assign(headers, identity);
  };

  /**
   * The identity headers of a user, built once per user version and assertion (the assertion is re-signed well
   * before it expires, which also rebuilds these).
   */
  const builtHeaders = new Map<string, { version: number; assertion: string; headers: Record<string, string> }>();
  const identityHeaders = (auth: AuthContext): Record<string, string> | Promise<Record<string, string>> => {
    const { identity } = auth;
    // Signed already (nearly always): no promise on the way.
    const ready = deps.assertion.cached(identity);
    if (ready !== undefined) return headersOf(identity, ready);
    return deps.assertion.assertionFor(identity).then((assertion) => headersOf(identity, assertion));
  };
  const headersOf = (identity: AuthContext['identity'], assertion: string): Record<string, string> => {
    const hit = builtHeaders.get(identity.userId);
    if (hit && hit.version === identity.version && hit.assertion === assertion) return hit.headers;
    const headers = buildIdentityHeaders(identity, cfg.forwarding.headerNames, assertion);
    if (builtHeaders.size >= 50_000) builtHeaders.clear();
    builtHeaders.set(identity.userId, { version: identity.version, assertion, headers });
    return headers;
  };

  /** Who the caller is and whether the route lets them through; throws the refusal. */
  const admit = async (req: IncomingMessage): Promise<AuthContext | null> => {
    const norm = (req as RequestWithId).normalized ?? normalizeRequestPath(req.url ?? '/');
    if (!norm.ok) throw new GatewayError('path_invalid', 'The request path is not acceptable.');
    const rule = routes.match(norm.path, req.method ?? 'GET');
    if (rule?.public) return null;
    const auth = await deps.authenticator.authenticate(req);
    const decision = authorize(rule, auth ? auth.identity : null);
    if (decision === 'login') throw notSignedIn(req);
    if (decision === 'deny') throw new GatewayError('route_forbidden', 'Your roles do not allow access to this page.');
    return auth;
  };

  const notSignedIn = (req: IncomingMessage): GatewayError => {
    if (wantsHtml(req) && (req.method === 'GET' || req.method === 'HEAD')) {
      const location = `${base}/login?return_to=${encodeURIComponent(req.url ?? '/')}`;
      return new GatewayError('login_required', 'Sign in first.', { extra: { location } });
    }
    return new GatewayError('unauthenticated', 'Sign in first, or send a bearer token.');
  };

  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    const requestId = (req as RequestWithId).requestId;
    if (requestId !== undefined && !res.headersSent) res.setHeader('X-Request-Id', requestId);
    const ge = toGatewayError(err);
    if (ge.code === 'login_required') return sendError(req, res, ge);
    if (ge.code === 'upstream_unavailable' || ge.code === 'upstream_timeout') {
      // The operator needs the reason (refused, reset, DNS...); the client only gets the code.
      const cause = ge.cause as { code?: string; message?: string } | undefined;
      deps.logger.warn('upstream request failed', { code: ge.code, cause: cause?.code ?? cause?.message, requestId: (req as RequestWithId).requestId });
    } else if (ge.status >= 500) {
      deps.logger.error('proxy request failed', { code: ge.code, cause: ge.cause ?? err, requestId: (req as RequestWithId).requestId });
    }
    if (ge.code === 'client_closed') {
      res.destroy();
      return;
    }
    if (ge.status < 500) {
      const norm = (req as RequestWithId).normalized;
      const route = norm?.ok ? norm.path : (req.url ?? '/').split('?')[0]!;
      logRefusal(deps.logger, { code: ge.code, status: ge.status, route, requestId: (req as RequestWithId).requestId, err });
    }
    if (!wantsHtml(req) || !namesUser(ge.status)) return sendError(req, res, ge);
    void deps.pageNav(req).then(
      (nav) => sendError(req, res, ge, {}, { nav }),
      () => sendError(req, res, ge),
    );
  };

  const tracing = deps.tracing?.enabled ? deps.tracing : undefined;
  /** The auth decision inside its own span (a refusal ends the span with its error code). */
  const tracedAdmit = (req: IncomingMessage): Promise<AuthContext | null> =>
    tracing!.span('claimgate.auth', {}, async () => {
      const auth = await admit(req);
      tracing!.annotate({ 'claimgate.decision': auth ? 'allow' : 'public' });
      return auth;
    });

  const proxyRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const auth = tracing ? await tracedAdmit(req) : await admit(req);
    const built = upstreamHeaders(req, auth);
    await deps.proxy!.forward(req, res, built instanceof Promise ? await built : built);
  };

  const handler: Handler = (req, res) => {
    const requestId = newRequestId(req);
    stripIdentity(req);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const normalized = normalizeRequestPath(url);
    if (isGatewayPath(rawPath) || (normalized.ok && isGatewayPath(normalized.path))) {
      // Gateway routes log through the request context. Proxied traffic does not enter it: an
      // AsyncLocalStorage context costs every promise of the request, and the proxy path logs only on failure,
      // with the id passed explicitly.
      res.setHeader('X-Request-Id', requestId);
      enterRequestContext(res);
      requestContext.run({ requestId }, () => gatewayApp(req, res));
      return;
    }
    (req as RequestWithId).requestId = requestId;
    (req as RequestWithId).normalized = normalized;
    if (cfg.upstream.mode !== 'proxy' || !deps.proxy) {
      res.setHeader('X-Request-Id', requestId);
      sendError(req, res, new GatewayError('not_found', 'There is nothing here.'));
      return;
    }
    // A proxied answer carries the id through the upstream request's X-Request-Id (see UpstreamProxy.send): a
    // header set here first would send Node's writeHead down its slow, header-by-header path. Refusals set it in fail().
    proxyRequest(req, res).catch((err) => fail(req, res, err));
  };

  /** WebSocket upgrades: same admission and header rules as a request; a tunnel only once the app switched. */
  /** A tunnel stays open while its user is the same version, still ACTIVE, and its session (if any) live. */
  const tunnels = new TunnelRegistry(deps.bus, async (owner) => {
    const state = await deps.authStates.get(owner.userId);
    if (!state || state.lifecycle !== 'ACTIVE' || state.version !== owner.version) return false;
    if (owner.sessionHash === undefined) return true;
    const session = await deps.sessionCache.get(owner.sessionHash);
    return !!session && deps.sessions.isLive(session);
  });

  const upgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    stripIdentity(req);
    socket.on('error', () => socket.destroy());
    if (cfg.upstream.mode !== 'proxy' || !deps.proxy || isGatewayPath(normalizeOrSelf((req.url ?? '/').split('?')[0]!))) {
      refuse(socket, 'HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    Promise.resolve()
      .then(() => checkUpgradeRequest(req))
      .then(async (handshake) => {
        const auth = await admit(req);
        const headers = await upstreamHeaders(req, auth);
        delete headers.connection;
        delete headers.upgrade;
        if (auth) tunnels.add(socket, { userId: auth.identity.userId, version: auth.identity.version, sessionHash: auth.session?.idHash });
        deps.proxy!.forwardUpgrade(req, socket, head, headers, handshake);
      })
      .catch((err) => {
        const ge = toGatewayError(err);
        const status = ge.status === 302 ? 401 : ge.status;
        if (status < 500) logRefusal(deps.logger, { code: ge.code, status, route: normalizeOrSelf((req.url ?? '/').split('?')[0]!), err });
        const challenge = status === 401 ? 'www-authenticate: Bearer\r\n' : '';
        refuse(socket, `HTTP/1.1 ${status} ${ge.code}\r\n${challenge}connection: close\r\ncontent-length: 0\r\n\r\n`);
      });
  };

  /** The upgrade handler owns its tunnels: `closeAll()` ends them at shutdown (an HTTP server does not). */
  const upgrade = Object.assign(upgradeHandler, { closeAll: () => tunnels.closeAll() });
  return { handler, upgrade };
}

/**
 * Gateway requests in flight in this process (every gateway in it: the request context is one per process). While
 * an AsyncLocalStorage is enabled, Node 20 runs a hook for every promise and async resource of every request,
 * proxied ones included; so the context is switched off whenever no gateway request is in flight (`run` switches it
 * back on for the next one). Work a request leaves running after its answer then logs without its request id.
 */
let gatewayRequestsInFlight = 0;

function enterRequestContext(res: ServerResponse): void {
  gatewayRequestsInFlight++;
  res.once('close', () => {
    gatewayRequestsInFlight--;
    // After the other 'close' listeners (the exception log runs its last step inside the context).
    if (gatewayRequestsInFlight === 0) setImmediate(leaveRequestContext);
  });
}

function leaveRequestContext(): void {
  if (gatewayRequestsInFlight === 0) requestContext.disable();
}

/**
 * The id that joins this request's log lines (and the app's, which receives it as X-Request-Id). A client's own
 * X-Request-Id is kept when it is a short plain token, so a trace can be followed across systems; anything else
 * is replaced.
 */
function newRequestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && /^[A-Za-z0-9._:-]{8,64}$/.test(given)) return given;
  return randomUUID();
}

/** Answers a refused upgrade and closes the socket once written (a client that keeps it open cannot hold shutdown). */
function refuse(socket: Duplex, response: string): void {
  socket.end(response, () => socket.destroy());
}

/**
 * A Cookie header without the session cookie: '' when nothing else is left. The pieces are split at `;` and the
 * rest joined with `; `, as a client writes them.
 */
function withoutCookie(header: string, name: string): string {
  if (!header.includes(name)) return header.includes(';') ? header.replace(/;\s*/g, '; ') : header;
  return header
    .split(/;\s*/)
    .filter((c) => c.split('=', 1)[0]!.trim() !== name)
    .join('; ');
}

/** Headers that describe how a request reached the gateway (RFC 7239 `Forwarded` and the de-facto X- ones). */
function isRouteHeader(name: string): boolean {
  return name === 'forwarded' || name === 'x-real-ip' || name.startsWith('x-forwarded-') || name.startsWith('x-original-');
}

/** Header names repeat endlessly; remember each one's verdict (bounded, so odd names cannot grow it forever). */
function memoByName(test: (name: string) => boolean): (name: string) => boolean {
  const seen = new Map<string, boolean>();
  return (name) => {
    let v = seen.get(name);
    if (v === undefined) {
      v = test(name);
      if (seen.size < 10_000) seen.set(name, v);
    }
    return v;
  };
}

function normalizeOrSelf(path: string): string {
  const n = normalizeRequestPath(path);
  return n.ok ? n.path : path;
}
