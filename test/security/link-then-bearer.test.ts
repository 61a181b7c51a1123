/**
 * A token used as a sign-in link must not live on as a bearer token, in whichever order it was used: caches keyed
 * by the token (the bearer user cache, the verify cache) must not keep answering for it, on any process.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { describeIfPostgres } from '../helpers/db.js';
import { call, startAnotherInstance, startTestGateway, type OtherInstance, type TestGateway } from '../helpers/gateway.js';
import { ACROSS_PROCESSES_MS, within } from '../helpers/wait.js';

const asBearer = async (url: string, token: string) => {
  const r = await call(`${url}/dash`, { headers: { authorization: `Bearer ${token}` } });
  return r.status === 200 ? 200 : `${r.status} ${r.json().code}`;
};

describe('a token used at /sso is refused as a bearer token afterwards', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('bearer first, then the sign-in link: the next bearer request is 401 jti_replayed', async () => {
    const token = await gw.token({ preferred_username: 'order1', sub: 'u-order1' });
    expect(await asBearer(gw.url, token)).toBe(200);
    expect(await asBearer(gw.url, token)).toBe(200); // now answered from the caches
    expect((await call(`${gw.url}/claimgate/sso?jwt=${token}`)).status).toBe(303);
    expect(await asBearer(gw.url, token)).toBe('401 jti_replayed');
    expect(await asBearer(gw.url, token)).toBe('401 jti_replayed');
  });

  it('the sign-in link first, then bearer: 401 jti_replayed', async () => {
    const token = await gw.token({ preferred_username: 'order2', sub: 'u-order2' });
    expect((await call(`${gw.url}/claimgate/sso?jwt=${token}`)).status).toBe(303);
    expect(await asBearer(gw.url, token)).toBe('401 jti_replayed');
  });

  it('other bearer tokens keep their cached answers', async () => {
    const kept = await gw.token({ preferred_username: 'order3', sub: 'u-order3' });
    const used = await gw.token({ preferred_username: 'order3', sub: 'u-order3' });
    expect(await asBearer(gw.url, kept)).toBe(200);
    expect((await call(`${gw.url}/claimgate/sso?jwt=${used}`)).status).toBe(303);
    const before = gw.running.gateway.parts.trustMap.stats.signatureVerifications;
    expect(await asBearer(gw.url, kept)).toBe(200);
    // Answered from the cache: the untouched token's signature was not checked again.
    expect(gw.running.gateway.parts.trustMap.stats.signatureVerifications).toBe(before);
  });
});

describe('an issuer that allows links without a jti', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({}, { ssoLink: { enabled: true, requireJti: false } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('such a link may be used again as a link, but once used it is refused as a bearer token, in both orders', async () => {
    const first = await gw.token({ preferred_username: 'nojti1', sub: 'u-nojti1' }, { noJti: true });
    expect((await call(`${gw.url}/claimgate/sso?jwt=${first}`)).status).toBe(303);
    expect(await asBearer(gw.url, first)).toBe('401 jti_replayed');
    expect((await call(`${gw.url}/claimgate/sso?jwt=${first}`)).status).toBe(303);

    const second = await gw.token({ preferred_username: 'nojti2', sub: 'u-nojti2' }, { noJti: true });
    expect(await asBearer(gw.url, second)).toBe(200);
    expect((await call(`${gw.url}/claimgate/sso?jwt=${second}`)).status).toBe(303);
    expect(await asBearer(gw.url, second)).toBe('401 jti_replayed');
    // A token never used as a link keeps working.
    expect(await asBearer(gw.url, await gw.token({ preferred_username: 'nojti3', sub: 'u-nojti3' }, { noJti: true }))).toBe(200);
  });
});

describeIfPostgres('two instances: the link used on one is refused as bearer on the other', () => {
  let a: TestGateway;
  let b: OtherInstance;
  beforeAll(async () => {
    a = await startTestGateway();
    b = await startAnotherInstance(a);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('bearer on both, link on A: B refuses it although it had the token cached', async () => {
    const token = await a.token({ preferred_username: 'twice', sub: 'u-twice' });
    expect(await asBearer(a.url, token)).toBe(200);
    expect(await asBearer(b.url, token)).toBe(200);
    expect(await asBearer(b.url, token)).toBe(200);
    expect((await call(`${a.url}/claimgate/sso?jwt=${token}`)).status).toBe(303);
    await within(ACROSS_PROCESSES_MS, async () => (await asBearer(b.url, token)) === '401 jti_replayed');
    expect(await asBearer(a.url, token)).toBe('401 jti_replayed');
  });

  it('link on A first, then bearer on B: 401 jti_replayed at once', async () => {
    const token = await a.token({ preferred_username: 'twice2', sub: 'u-twice2' });
    expect((await call(`${a.url}/claimgate/sso?jwt=${token}`)).status).toBe(303);
    expect(await asBearer(b.url, token)).toBe('401 jti_replayed');
  });
});
