/**
 * A local stand-in for the Microsoft identity platform token endpoint and Microsoft Graph, answering as
 * Microsoft documents them: client credentials at `/{tenant}/oauth2/v2.0/token`, and
 * `/v1.0/users/{id}/transitiveMemberOf/microsoft.graph.group` in pages linked by `@odata.nextLink`, with
 * throttling (`429` or `503` + `Retry-After`) and failures on demand.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, jwtVerify, type JWK } from 'jose';

export interface StandInGroup {
  id: string;
  displayName: string;
}

export interface GraphStandIn {
  url: string;
  /** Every request: `METHOD path` (query left out). */
  requests: string[];
  /** Group memberships per user object id. */
  memberships: Map<string, StandInGroup[]>;
  /** Groups per page (Graph's default is 100; small here so paging is exercised). */
  pageSize: number;
  /** The next this-many membership requests answer 429 with `Retry-After: retryAfter`. */
  throttleNext: number;
  /** The status of a throttled answer: 429, or 503 as Graph also sends when it is overloaded. */
  throttleStatus: number;
  retryAfter: string;
  /** Every membership request answers this status (0: normal). */
  failWith: number;
  /** Every token request answers 401 invalid_client when false. */
  acceptSecret: string;
  tokensIssued: number;
  /** Origin of the `@odata.nextLink` URLs (default: the stand-in itself). */
  nextLinkOrigin: string | null;
  /** Accept a client assertion (private_key_jwt) signed by this key instead of a secret. */
  assertionKey: JWK | null;
  /** The last client assertion's verified header and claims. */
  lastAssertion: { header: Record<string, unknown>; claims: Record<string, unknown> } | null;
  close(): Promise<void>;
}

export async function startGraphStandIn(opts: { clientId: string; clientSecret: string }): Promise<GraphStandIn> {
  const issued = new Set<string>();
  const s: GraphStandIn = {
    url: '',
    requests: [],
    memberships: new Map(),
    pageSize: 2,
    throttleNext: 0,
    throttleStatus: 429,
    retryAfter: '1',
    failWith: 0,
    acceptSecret: opts.clientSecret,
    tokensIssued: 0,
    nextLinkOrigin: null,
    assertionKey: null,
    lastAssertion: null,
    close: async () => undefined,
  };
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void handle(req, res, chunks));
  });
  const handle = async (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, chunks: Buffer[]) => {
    {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      s.requests.push(`${req.method} ${url.pathname}`);
      const tokenPath = /^\/([0-9a-f-]{36})\/oauth2\/v2\.0\/token$/.exec(url.pathname);
      if (tokenPath && req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        if (form.get('grant_type') !== 'client_credentials' || form.get('scope') !== 'https://graph.microsoft.com/.default') {
          return json(res, 400, { error: 'invalid_request', error_description: 'AADSTS900144: bad request' });
        }
        const assertion = form.get('client_assertion');
        if (s.assertionKey && assertion) {
          try {
            const endpoint = `${s.url}${url.pathname}`;
            const v = await jwtVerify(assertion, await importJWK(s.assertionKey, 'RS256'), { audience: endpoint, issuer: opts.clientId, subject: opts.clientId });
            s.lastAssertion = { header: v.protectedHeader as Record<string, unknown>, claims: v.payload as Record<string, unknown> };
          } catch {
            return json(res, 401, { error: 'invalid_client', error_description: 'AADSTS700027: Client assertion failed signature validation.' });
          }
        } else if (form.get('client_id') !== opts.clientId || form.get('client_secret') !== s.acceptSecret) {
          return json(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
        }
        const token = `graph-app-token-${++s.tokensIssued}-${tokenPath[1]}`;
        issued.add(token);
        return json(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
      }
      const members = /^\/v1\.0\/users\/([^/]+)\/transitiveMemberOf\/microsoft\.graph\.group$/.exec(url.pathname);
      if (members && req.method === 'GET') {
        const auth = req.headers.authorization ?? '';
        if (!auth.startsWith('Bearer ') || !issued.has(auth.slice(7))) {
          return json(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' } });
        }
        if (s.failWith) return json(res, s.failWith, { error: { code: 'generalException', message: 'failure' } });
        if (s.throttleNext > 0) {
          s.throttleNext--;
          const code = s.throttleStatus === 503 ? 'serviceNotAvailable' : 'TooManyRequests';
          return json(res, s.throttleStatus, { error: { code, message: 'throttled' } }, { 'retry-after': s.retryAfter });
        }
        if (url.searchParams.get('$select') !== 'id,displayName') return json(res, 400, { error: { code: 'BadRequest' } });
        const all = s.memberships.get(decodeURIComponent(members[1]!));
        if (!all) return json(res, 404, { error: { code: 'Request_ResourceNotFound', message: 'not found' } });
        const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
        const page = all.slice(skip, skip + s.pageSize).map((g) => ({ '@odata.type': '#microsoft.graph.group', ...g }));
        const body: Record<string, unknown> = { '@odata.context': `${s.url}/v1.0/$metadata#groups(id,displayName)`, value: page };
        if (skip + s.pageSize < all.length) {
          const next = new URL(`${s.nextLinkOrigin ?? s.url}${url.pathname}`);
          next.searchParams.set('$select', 'id,displayName');
          next.searchParams.set('$skiptoken', String(skip + s.pageSize));
          body['@odata.nextLink'] = next.href;
        }
        return json(res, 200, body);
      }
      if (url.pathname === '/v1.0/directoryObjects/getByIds' && req.method === 'POST') {
        const auth = req.headers.authorization ?? '';
        if (!auth.startsWith('Bearer ') || !issued.has(auth.slice(7))) return json(res, 401, { error: { code: 'InvalidAuthenticationToken' } });
        const { ids } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { ids: string[] };
        const known = new Map([...s.memberships.values()].flat().map((g) => [g.id, g]));
        const value = ids.flatMap((id) => (known.has(id) ? [{ '@odata.type': '#microsoft.graph.group', ...known.get(id)! }] : []));
        return json(res, 200, { value });
      }
      json(res, 404, { error: { code: 'NotFound' } });
    }
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return s;
}
