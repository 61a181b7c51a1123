import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call } from '../helpers/gateway.js';
import { startAdminGateway, type AdminGateway } from '../admin/helpers.js';

/** The vendor's envelope fields: readableUserCode, orgIdentifier and userExpirationDate. */
describe(`sync envelope: readable usercode, organisation, expiration (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let gw: AdminGateway;
  let syncToken: string;
  beforeAll(async () => {
    gw = await startAdminGateway({ jobs: { deletion: { graceDays: 30 } } });
    syncToken = (await gw.running.gateway.parts.credentials.store.create({ name: 'env-sync', scopes: ['users:sync'] })).token;
  });
  afterAll(async () => {
    await gw?.close();
  });

  const sync = (body: unknown) =>
    call(`${gw.url}/claimgate/api/v1/users/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${syncToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const item = (usercode: string, user: Record<string, unknown>) => ({
    user: { usercode, forenames: 'Jwt', surname: 'Auth', email: `${usercode.toLowerCase()}@auth.test`, allowExternalLogin: true, superAdmin: false, ...user },
    variables: [],
    restrictions: [],
    userRoles: [],
    userCategories: [],
  });
  const users = () => gw.running.gateway.parts.users;

  it('readableUserCode names a user without a display name; orgIdentifier is an attribute', async () => {
    const r = await sync([item('JWTAUTH', { readableUserCode: 'Jwtauth', orgIdentifier: 'Dashboard', userExpirationDate: null })]);
    expect(r.json().results[0]).toMatchObject({ outcome: 'created' });
    const u = (await users().getByUsercode('JWTAUTH'))!;
    expect(u.displayName).toBe('Jwtauth');
    expect(u.attributes.orgIdentifier).toEqual([{ source: 'api', values: ['Dashboard'] }]);
    expect(u.attributes.userExpirationDate).toBeUndefined();
    // A display name the user got elsewhere is not overwritten by the readable code.
    await gw.api('PATCH', `/users/${u.id}`, { body: { displayName: 'Jwt Auth (HR)' } });
    await sync([item('JWTAUTH', { readableUserCode: 'Other', orgIdentifier: 'Dashboard' })]);
    expect((await users().getByUsercode('JWTAUTH'))!.displayName).toBe('Jwt Auth (HR)');
    const bad = await sync([item('BADDATE', { userExpirationDate: 'next tuesday' })]);
    expect(bad.json().results[0].errors).toEqual([expect.objectContaining({ field: 'user.userExpirationDate', code: 'invalid_value' })]);
  });

  it('the deletion job suspends a user once userExpirationDate passes (reason expired); dry run first', async () => {
    const past = new Date(Date.now() - 86_400_000).toISOString();
    const future = new Date(Date.now() + 30 * 86_400_000).toISOString();
    await sync([item('EXPIRED1', { userExpirationDate: past }), item('FUTURE1', { userExpirationDate: future })]);
    expect((await users().getByUsercode('EXPIRED1'))!.lifecycle).toBe('ACTIVE');

    const dry = await gw.api('POST', '/jobs/deletion/run?dryRun=true');
    expect(dry.json().result.run.counts).toMatchObject({ wouldSuspendExpired: 1 });
    expect((await users().getByUsercode('EXPIRED1'))!.lifecycle).toBe('ACTIVE');

    const run = await gw.api('POST', '/jobs/deletion/run?dryRun=false');
    expect(run.json().result.run.counts).toMatchObject({ suspendedExpired: 1 });
    const expired = (await users().getByUsercode('EXPIRED1'))!;
    expect(expired.lifecycle).toBe('SUSPENDED');
    expect((await users().getByUsercode('FUTURE1'))!.lifecycle).toBe('ACTIVE');
    const audit = (await gw.api('GET', `/audit?user=${expired.id}&type=lifecycle_change`)).json().items;
    expect(audit[0]).toMatchObject({ actor: 'job:deletion', detail: { before: 'ACTIVE', after: 'SUSPENDED', reason: 'expired', expiredAt: past } });
    // A later sync without an expiration (null) removes it; the user stays suspended until someone reactivates.
    await sync([item('EXPIRED1', { userExpirationDate: null })]);
    expect((await users().getByUsercode('EXPIRED1'))!.attributes.userExpirationDate).toBeUndefined();
  });
});
