import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { makeKeyPair, startJwksServer, type JwksServer, type KeyPair } from '../../helpers/tokens.js';
import { APP_ID, pushBody } from './push.js';

describe(`rateLimits.events on POST /claimgate/events (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let gw: TestGateway;
  let jwks: JwksServer;
  let key: KeyPair;

  beforeAll(async () => {
    key = await makeKeyPair('RS256', 'KEYidaas1');
    jwks = await startJwksServer([key.publicJwk]);
    gw = await startTestGateway({
      provisioning: { events: { jwksUri: jwks.jwksUri, appId: APP_ID } },
      rateLimits: { events: { perMinute: 3 } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await jwks?.close();
  });

  const push = async (n: number) =>
    call(`${gw.url}/claimgate/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: await pushBody([{ eventId: `rl-${n}`, type: 'ud:user:create', eventTime: 1000 + n, bizData: { userId: `user_rl${n}`, username: `rl${n}`, email: `rl${n}@corp.test` } }], { key }),
    });

  it('answers 429 with Retry-After once perMinute pushes were received, and stores nothing from the refused ones', async () => {
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await push(i));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 429, 429]);
    const refused = answers[4]!;
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    // The refusal is in the receiver's own error format, not problem+json.
    expect(String(refused.headers['content-type'])).not.toContain('problem+json');
    const users = await gw.db.knex('users').whereIn('usercode', ['rl0', 'rl1', 'rl2', 'rl3', 'rl4']).pluck('usercode');
    expect(users.sort()).toEqual(['rl0', 'rl1', 'rl2']);
    // Other routes keep serving.
    expect((await call(`${gw.url}/claimgate/health/live`)).status).toBe(200);
  });
});
