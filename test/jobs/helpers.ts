import type { TestGateway } from '../helpers/gateway.js';
import type { Scope } from '../../src/core/credentials/index.js';

/** Every source a right can come from, with the role it gives in these tests. */
export const SOURCE_ROLES: [string, string][] = [
  ['mapping:corp', 'analyst'],
  ['api', 'api_role'],
  ['events', 'events_role'],
  ['admin', 'admin_role'],
  ['scim', 'scim_role'],
];

/** A user holding one role (and one attribute) from every source. */
export async function userWithEverySource(gw: TestGateway, usercode: string): Promise<string> {
  const { users } = gw.running.gateway.parts;
  const u = await users.createUser({ usercode, source: 'api', profile: { email: `${usercode}@example.test` } });
  for (const [source, role] of SOURCE_ROLES) {
    await users.setSourceGrants(u.id, source, { roles: [role], attributes: { region: [`${source}-region`] } });
  }
  return u.id;
}

export async function bearer(gw: TestGateway, ...scopes: Scope[]): Promise<Record<string, string>> {
  const { token } = await gw.running.gateway.parts.credentials.store.create({ name: `t-${Math.random().toString(36).slice(2)}`, scopes });
  return { authorization: `Bearer ${token}` };
}

export async function runsOf(gw: TestGateway, job: string) {
  return gw.db.knex('job_runs').where({ job }).orderBy('started_at').orderBy('id');
}
