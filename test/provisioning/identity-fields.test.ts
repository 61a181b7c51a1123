import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { call } from '../helpers/gateway.js';
import { makeKeyPair, startJwksServer, type JwksServer, type KeyPair } from '../helpers/tokens.js';
import { APP_ID, pushBody } from './events/push.js';
import { startScim, USER, type ScimClient } from './scim-helpers.js';

/** idp_source names the identity system; each channel tags its users and keeps their other tags. */
describe(`identity fields and channel tags (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let s: ScimClient;
  let jwks: JwksServer;
  let key: KeyPair;
  let syncToken: string;
  const aesKey = randomBytes(32);

  beforeAll(async () => {
    key = await makeKeyPair('RS256', 'KEYids');
    jwks = await startJwksServer([key.publicJwk]);
    s = await startScim({
      provisioning: {
        scim: { idpSource: 'AAD' },
        events: { jwksUri: jwks.jwksUri, appId: APP_ID, decryptionKey: aesKey.toString('hex'), idpSource: 'IDAAS-PROD' },
      },
    });
    syncToken = (await s.gw.running.gateway.parts.credentials.store.create({ name: 'ids-sync', scopes: ['users:sync'] })).token;
  });
  afterAll(async () => {
    await s?.gw.close();
    await jwks?.close();
  });

  const user = (usercode: string) => s.gw.running.gateway.parts.users.getByUsercode(usercode);
  const sync = (body: unknown) =>
    call(`${s.gw.url}/claimgate/api/v1/users/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${syncToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('SCIM: idp_source from provisioning.scim.idpSource, tag scim added to the tags the user already had', async () => {
    expect((await sync({ usercode: 'tag.keeper@corp.test', tags: ['vip'] })).status).toBe(200);
    expect((await user('tag.keeper@corp.test'))!.tags).toEqual(['vip', 'api']);
    const created = await s.scim('POST', '/Users', { schemas: [USER], userName: 'new.scim@corp.test', externalId: 'aad-oid-1' });
    expect(created.status).toBe(201);
    expect(await user('new.scim@corp.test')).toMatchObject({ idpSource: 'AAD', idpReferenceId: 'aad-oid-1', tags: ['scim'] });

    // A user the sync API made, then taken over by SCIM (found and PUT): both tags, and the one it had.
    const list = (await s.scim('GET', `/Users?filter=${encodeURIComponent('userName eq "tag.keeper@corp.test"')}`)).json();
    const id = list.Resources[0].id as string;
    expect((await s.scim('PUT', `/Users/${id}`, { schemas: [USER], userName: 'tag.keeper@corp.test', displayName: 'Tag Keeper' })).status).toBe(200);
    expect(await user('tag.keeper@corp.test')).toMatchObject({ idpSource: 'AAD', tags: ['vip', 'api', 'scim'], displayName: 'Tag Keeper' });
    // Sync again with its own tags: they replace the others, and the channel tags (api, and scim: the user is
    // still SCIM's) stay.
    expect((await sync({ usercode: 'tag.keeper@corp.test', tags: ['gold'] })).status).toBe(200);
    expect((await user('tag.keeper@corp.test'))!.tags).toEqual(['gold', 'api', 'scim']);
  });

  it('events: idp_source from provisioning.events.idpSource, tag events; users stored as "events" before stay theirs', async () => {
    const push = async (bizData: Record<string, unknown>, eventTime: number) =>
      call(`${s.gw.url}/claimgate/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: await pushBody([{ type: 'ud:user:push', eventTime, bizData }], { key, encryptWith: aesKey }),
      });
    expect((await push({ userId: 'idaas-1', username: 'evt.user', displayName: 'Evt User' }, 1)).status).toBe(200);
    expect(await user('evt.user')).toMatchObject({ idpSource: 'IDAAS-PROD', idpReferenceId: 'idaas-1', tags: ['events'] });

    // A user written by an earlier release (idp_source "events") is still recognised by its reference id.
    await s.gw.db.knex('users').insert({ id: '01LEGACYEVENTUSER000000000', usercode: 'legacy.user', lifecycle: 'ACTIVE', idp_source: 'events', idp_reference_id: 'idaas-legacy', tags: JSON.stringify(['old']) });
    expect((await push({ userId: 'idaas-legacy', username: 'legacy.renamed', displayName: 'Legacy' }, 2)).status).toBe(200);
    expect(await user('legacy.renamed')).toMatchObject({ id: '01LEGACYEVENTUSER000000000', idpSource: 'IDAAS-PROD', tags: ['old', 'events'] });
  });
});
