import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIfPostgres } from '../helpers/db.js';
import { DEFAULT_MAPPING, call, startAnotherInstance, type OtherInstance } from '../helpers/gateway.js';
import { ACROSS_PROCESSES_MS } from '../helpers/wait.js';
import { eventually, startAdminGateway, type AdminGateway } from './helpers.js';

describeIfPostgres('admin API across two running instances', () => {
  let a: AdminGateway;
  let b: OtherInstance;
  beforeAll(async () => {
    a = await startAdminGateway();
    b = await startAnotherInstance(a);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  /** Signs in on instance B and returns the roles the app sees there. */
  const rolesOnB = async (claims: Record<string, unknown>) => {
    const res = await call(`${b.url}/claimgate/sso?jwt=${await a.token(claims)}`);
    expect(res.status).toBe(303);
    const cookie = String(res.headers['set-cookie']).split(';')[0]!;
    return (await call(`${b.url}/x`, { headers: { cookie } })).json().headers['x-claimgate-roles'] as string;
  };

  it('a mapping saved on A applies to the next login on B without restart; rollback and DELETE too', async () => {
    const claims = { preferred_username: 'ivy', sub: 'u-ivy', groups: ['bi-analysts'] };
    expect(await rolesOnB(claims)).toBe('analyst');

    const v1 = { ...DEFAULT_MAPPING, roles: [{ from: 'groups', map: { 'bi-analysts': 'analyst_v2' } }] };
    expect((await a.api('PUT', '/mappings/corp', { body: v1 })).json().version).toBe(1);
    await eventually(ACROSS_PROCESSES_MS, async () => (await rolesOnB(claims)) === 'analyst_v2');

    expect((await a.api('PUT', '/mappings/corp', { body: { ...DEFAULT_MAPPING, roles: [{ default: ['v2_only'] }] } })).json().version).toBe(2);
    await eventually(ACROSS_PROCESSES_MS, async () => (await rolesOnB(claims)) === 'v2_only');

    expect((await a.api('POST', '/mappings/corp/rollback', { body: { version: 1 } })).json().version).toBe(3);
    await eventually(ACROSS_PROCESSES_MS, async () => (await rolesOnB(claims)) === 'analyst_v2');
    expect(b.server.gateway.parts.mappings.get('corp')).toMatchObject({ version: 3, source: 'database' });

    expect((await a.api('DELETE', '/mappings/corp')).status).toBe(204);
    await eventually(ACROSS_PROCESSES_MS, async () => (await rolesOnB(claims)) === 'analyst');
    expect(b.server.gateway.parts.mappings.get('corp')).toMatchObject({ version: null, source: 'file' });
  });

  it('a bearer token cached on B picks up the new mapping at its next request', async () => {
    const bearer = await a.token({ preferred_username: 'jo', sub: 'u-jo', groups: ['bi-analysts'] }, { noJti: true });
    const roles = async () => (await call(`${b.url}/x`, { headers: { authorization: `Bearer ${bearer}` } })).json().headers['x-claimgate-roles'];
    expect(await roles()).toBe('analyst');
    await a.api('PUT', '/mappings/corp', { body: { ...DEFAULT_MAPPING, roles: [{ default: ['bearer_v'] }] } });
    await eventually(ACROSS_PROCESSES_MS, async () => (await roles()) === 'bearer_v');
    await a.api('DELETE', '/mappings/corp');
  });

  it('a gateway started later loads the version in force', async () => {
    await a.api('PUT', '/mappings/corp', { body: { ...DEFAULT_MAPPING, roles: [{ default: ['late'] }] } });
    const c = await startAnotherInstance(a);
    try {
      expect(c.server.gateway.parts.mappings.get('corp')).toMatchObject({ source: 'database' });
      expect(c.server.gateway.parts.mappings.get('corp')!.definition.roles).toEqual([{ default: ['late'] }]);
    } finally {
      await c.close();
    }
    await a.api('DELETE', '/mappings/corp');
  });
});
