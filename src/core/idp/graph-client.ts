import { importJWK, SignJWT, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import type { GraphConfig } from '../config/idp-schema.js';

/** One group the user is a (transitive) member of. */
export interface GraphGroup {
  id: string;
  displayName: string | null;
}

/** Graph could not answer (down, refusing, throttling beyond the time budget). The message names no secret. */
export class GraphUnavailable extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'GraphUnavailable';
  }
}

const SCOPE = 'https://graph.microsoft.com/.default';
/** Throttled answers retried per lookup; each wait must also fit in the lookup's time budget. */
const MAX_RETRIES = 3;
/** A page chain longer than this is a loop or a misbehaving server, not a real membership list. */
const MAX_PAGES = 200;

interface AppToken {
  value: string;
  /** ms since the epoch after which a new one is fetched. */
  until: number;
}

/**
 * Microsoft Graph as the gateway needs it: an app-only token by client credentials per tenant (kept until
 * shortly before it expires) and the user's transitive group memberships, page by page. Only the configured
 * authority and Graph URLs are ever called: the endpoints a token names in `_claim_sources` are not trusted.
 */
export class GraphClient {
  private readonly tokens = new Map<string, AppToken>();
  private readonly pendingTokens = new Map<string, Promise<AppToken>>();

  constructor(
    private readonly config: GraphConfig,
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every group (id and display name) `oid` is a direct or nested member of, in tenant `tid`. */
  async transitiveGroups(tid: string, oid: string): Promise<GraphGroup[]> {
    const deadline = this.now() + this.config.timeoutMs;
    const base = this.config.graphUrl.replace(/\/+$/, '');
    let next: string | undefined =
      `${base}/v1.0/users/${encodeURIComponent(oid)}/transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$top=999`;
    const groups: GraphGroup[] = [];
    for (let page = 0; next !== undefined; page++) {
      if (page >= MAX_PAGES) throw new GraphUnavailable('Graph returned too many pages of group memberships');
      const body = (await this.getJson(tid, next, deadline)) as { value?: unknown; '@odata.nextLink'?: unknown };
      if (!Array.isArray(body.value)) throw new GraphUnavailable('Graph answered a membership page without "value"');
      for (const g of body.value as Array<Record<string, unknown>>) {
        if (g && typeof g.id === 'string') groups.push({ id: g.id, displayName: typeof g.displayName === 'string' ? g.displayName : null });
      }
      const link = body['@odata.nextLink'];
      next = typeof link === 'string' ? this.sameOrigin(link) : undefined;
    }
    return groups;
  }

  /** Display names of the given group ids (one `getByIds` request per 1000); unknown ids are left out. */
  async groupNames(tid: string, ids: readonly string[]): Promise<Map<string, string>> {
    const deadline = this.now() + this.config.timeoutMs;
    const href = `${this.config.graphUrl.replace(/\/+$/, '')}/v1.0/directoryObjects/getByIds?$select=id,displayName`;
    const out = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 1000) {
      const body = JSON.stringify({ ids: ids.slice(i, i + 1000), types: ['group'] });
      const answer = (await this.getJson(tid, href, deadline, { method: 'POST', body, contentType: 'application/json' })) as { value?: unknown };
      for (const g of Array.isArray(answer.value) ? (answer.value as Array<Record<string, unknown>>) : []) {
        if (g && typeof g.id === 'string' && typeof g.displayName === 'string') out.set(g.id.toLowerCase(), g.displayName);
      }
    }
    return out;
  }

  /** A next-page link must stay on the configured Graph origin: the app token is never sent elsewhere. */
  private sameOrigin(link: string): string {
    let u: URL;
    try {
      u = new URL(link);
    } catch {
      throw new GraphUnavailable('Graph answered an invalid @odata.nextLink');
    }
    if (u.origin !== new URL(this.config.graphUrl).origin) throw new GraphUnavailable('Graph answered a nextLink on another host');
    return u.href;
  }

  private async getJson(
    tid: string,
    href: string,
    deadline: number,
    post?: { method: 'POST'; body: string; contentType: string },
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.appToken(tid, deadline);
      const headers: Record<string, string> = { authorization: `Bearer ${token.value}`, accept: 'application/json' };
      if (post) headers['content-type'] = post.contentType;
      const res = await this.send(href, post ? { method: 'POST', headers, body: post.body } : { headers }, deadline);
      if (res.status === 200) {
        try {
          return await res.json();
        } catch (e) {
          throw new GraphUnavailable('Graph answered something that is not JSON', { cause: e });
        }
      }
      await res.body?.cancel().catch(() => undefined);
      if (res.status === 401 && attempt === 0) {
        // The cached app token was revoked or rotated early: one fresh token, then give up.
        this.tokens.delete(tid);
        continue;
      }
      if ((res.status === 429 || res.status === 503) && attempt < MAX_RETRIES) {
        await this.waitRetryAfter(res, deadline);
        continue;
      }
      if (res.status === 404) throw new GraphUnavailable('Graph does not know this user (404)');
      throw new GraphUnavailable(`Graph answered HTTP ${res.status}`);
    }
  }

  private async waitRetryAfter(res: Response, deadline: number): Promise<void> {
    const header = res.headers.get('retry-after');
    let waitMs = 1000;
    if (header !== null) {
      const secs = Number(header);
      if (Number.isFinite(secs) && secs >= 0) waitMs = secs * 1000;
      else if (!Number.isNaN(Date.parse(header))) waitMs = Math.max(0, Date.parse(header) - this.now());
    }
    if (this.now() + waitMs >= deadline) {
      throw new GraphUnavailable(`Graph is throttling (HTTP ${res.status}) for longer than this sign-in can wait`);
    }
    await new Promise((r) => setTimeout(r, waitMs));
  }

  private async send(href: string, init: RequestInit, deadline: number): Promise<Response> {
    const left = deadline - this.now();
    if (left <= 0) throw new GraphUnavailable('Graph did not answer in time');
    try {
      return await this.fetchImpl(href, { ...init, redirect: 'manual', signal: AbortSignal.timeout(left) });
    } catch (e) {
      throw new GraphUnavailable('Graph could not be reached', { cause: e });
    }
  }

  private appToken(tid: string, deadline: number): Promise<AppToken> {
    const cached = this.tokens.get(tid);
    if (cached && cached.until > this.now()) return Promise.resolve(cached);
    let pending = this.pendingTokens.get(tid);
    if (pending === undefined) {
      pending = this.fetchAppToken(tid, deadline)
        .then((t) => {
          this.tokens.set(tid, t);
          return t;
        })
        .finally(() => this.pendingTokens.delete(tid));
      this.pendingTokens.set(tid, pending);
    }
    return pending;
  }

  private async fetchAppToken(tid: string, deadline: number): Promise<AppToken> {
    const endpoint = `${this.config.authorityUrl.replace(/\/+$/, '')}/${encodeURIComponent(tid)}/oauth2/v2.0/token`;
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.config.clientId, scope: SCOPE });
    if (this.config.privateKey !== undefined) {
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', await this.clientAssertion(endpoint));
    } else if (this.config.clientSecret !== undefined) {
      form.set('client_secret', this.config.clientSecret);
    }
    const res = await this.send(
      endpoint,
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form.toString() },
      deadline,
    );
    let body: Record<string, unknown> = {};
    try {
      body = (await res.json()) as Record<string, unknown>;
    } catch {
      // Reported below by status or missing fields.
    }
    if (res.status !== 200 || typeof body.access_token !== 'string') {
      // Microsoft's error codes (AADSTS…) say what to fix and contain no secret.
      const code = typeof body.error === 'string' ? ` ${body.error}` : '';
      const desc = typeof body.error_description === 'string' ? `: ${body.error_description.split('\n')[0]!.slice(0, 200)}` : '';
      throw new GraphUnavailable(`the Graph app token request answered HTTP ${res.status}${code}${desc}`);
    }
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in ?? 3599);
    // Renewed a minute early so a token never expires between being picked and being used.
    const until = this.now() + Math.max(0, (Number.isFinite(expiresIn) ? expiresIn : 3599) - 60) * 1000;
    return { value: body.access_token, until };
  }

  private async clientAssertion(audience: string): Promise<string> {
    const jwk = this.config.privateKey as JWK & { x5t?: string; 'x5t#S256'?: string };
    const alg = jwk.alg ?? (jwk.kty === 'EC' ? 'ES256' : 'RS256');
    const key = await importJWK(jwk, alg);
    const header: Record<string, string> = { alg, typ: 'JWT' };
    if (jwk.kid) header.kid = jwk.kid;
    if (jwk.x5t) header.x5t = jwk.x5t;
    if (jwk['x5t#S256']) header['x5t#S256'] = jwk['x5t#S256'];
    const now = Math.floor(this.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader(header as { alg: string })
      .setIssuer(this.config.clientId)
      .setSubject(this.config.clientId)
      .setAudience(audience)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 300)
      .sign(key);
  }
}
