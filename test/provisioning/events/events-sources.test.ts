import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { makeKeyPair, startJwksServer, type JwksServer } from '../../helpers/tokens.js';
import { APP_ID, pushBody } from './push.js';

/** provisioning.events.allowedSources: a push from any other peer is refused with 403 before it is read. */
describe(`event receiver allowed sources (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let gw: TestGateway;
  let jwks: JwksServer;
  let body: string;

  beforeAll(async () => {
    const key = await makeKeyPair('RS256', 'KEYsrc');
    jwks = await startJwksServer([key.publicJwk]);
    gw = await startTestGateway({
      trustedProxies: ['127.0.0.1'],
      provisioning: { events: { jwksUri: jwks.jwksUri, appId: APP_ID, allowedSources: ['192.0.2.0/24', '2001:db8::/32'] } },
    });
    body = await pushBody([{ type: 'ud:user:create', eventTime: 1, bizData: { userId: 'src-u', username: 'src.user' } }], { key });
  });
  afterAll(async () => {
    await gw?.close();
    await jwks?.close();
  });

  const post = (headers: Record<string, string>, b = body) =>
    call(`${gw.url}/claimgate/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: b });

  it('the direct peer is outside the list: 403, even for a valid push, nothing applied', async () => {
    const r = await post({});
    expect(r.status).toBe(403);
    expect(r.json()).toEqual({ error: 'forbidden', errorDescription: 'pushes are not accepted from this address' });
    expect(await gw.running.gateway.parts.users.getByUsercode('src.user')).toBeNull();
  });

  it('behind a trusted proxy the forwarded client decides; the check comes before body and signature checks', async () => {
    expect((await post({ 'x-forwarded-for': '198.51.100.7' }, 'not json at all')).status).toBe(403);
    expect((await post({ 'x-forwarded-for': '192.0.2.44' }, 'not json at all')).status).toBe(400);
    expect((await post({ 'x-forwarded-for': '2001:db8::5' })).status).toBe(200);
    expect(await gw.running.gateway.parts.users.getByUsercode('src.user')).not.toBeNull();
  });

  it('a bad entry stops the start with its path', async () => {
    await expect(
      startTestGateway({ provisioning: { events: { jwksUri: jwks.jwksUri, appId: APP_ID, allowedSources: ['10.0.0.0/8', 'not-an-address'] } } }),
    ).rejects.toThrow(/provisioning\.events\.allowedSources: \[1\]/);
  });
});
