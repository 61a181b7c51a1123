import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';

export interface ScimClient {
  gw: TestGateway;
  token: string;
  /** A SCIM call: JSON body sent as application/scim+json (unless contentType says otherwise). */
  scim(method: string, path: string, body?: unknown, opts?: { token?: string; contentType?: string }): ReturnType<typeof call>;
}

/** A gateway with SCIM group roles configured, and a static token with the `scim` scope. */
export async function startScim(overrides: Record<string, unknown> = {}): Promise<ScimClient> {
  const gw = await startTestGateway({
    provisioning: { scim: { groupRoles: { 'BI Admins': 'admin', 'ext-analysts': ['analyst', 'exporter'] } } },
    ...overrides,
  });
  const { token } = await gw.running.gateway.parts.credentials.store.create({ name: `scim-${Date.now()}`, scopes: ['scim'] });
  const scim: ScimClient['scim'] = (method, path, body, opts = {}) =>
    call(`${gw.url}/claimgate/scim/v2${path}`, {
      method,
      headers: {
        authorization: `Bearer ${opts.token ?? token}`,
        ...(body !== undefined ? { 'content-type': opts.contentType ?? 'application/scim+json' } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { gw, token, scim };
}

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

export const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
export const q = (filter: string) => `filter=${encodeURIComponent(filter)}`;
