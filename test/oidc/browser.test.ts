import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { requireBinary } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { ACCOUNTS, oidcIssuer, webClient } from '../helpers/oidc-setup.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? null;
const mode = requireBinary('chromium', CHROMIUM !== null);

/**
 * One end-to-end sign-in in a real browser: the app's page without a session → the gateway → the real
 * oidc-provider's login and consent pages → back to the app, which shows the mapped roles → logout at the
 * gateway and at the provider → the signed-out page.
 */
(mode === 'run' ? describe : describe.skip)('end to end in headless Chromium', () => {
  let idp: TestProvider;
  let gw: TestGateway;
  let browser: Browser;
  let publicUrl: string;
  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    idp = await startTestProvider(async (issuer) => {
      gw = await startTestGateway({ publicUrl, listen: { host: '127.0.0.1', port }, issuers: [oidcIssuer(issuer)] });
      return {
        clients: [
          webClient(gw.url, {
            redirect_uris: [`${publicUrl}/claimgate/callback`],
            post_logout_redirect_uris: [`${publicUrl}/claimgate/signed-out`],
          }),
        ],
        accounts: ACCOUNTS,
      };
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM!,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await idp?.close();
  });

  it('signs in at the provider, lands in the app with the mapped roles, and signs out everywhere', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${publicUrl}/reports/42?tab=1`);
    // The provider's own login page.
    await page.waitForSelector('input[name="login"]');
    expect(page.url().startsWith(idp.issuer)).toBe(true);
    await page.fill('input[name="login"]', 'ada');
    await page.fill('input[name="password"]', 'any');
    await page.click('button[type="submit"]');
    // Its consent page.
    await page.waitForSelector('button:has-text("Continue")');
    await page.click('button:has-text("Continue")');
    // Back in the app (the echo app shows what the gateway forwarded).
    await page.waitForURL(`${publicUrl}/reports/42?tab=1`);
    const seen = JSON.parse((await page.textContent('body'))!);
    expect(seen.headers['x-claimgate-user']).toBe('ada');
    expect(seen.headers['x-claimgate-roles']).toBe('admin');
    const cookies = await context.cookies(publicUrl);
    const session = cookies.find((c) => c.name === 'claimgate_session')!;
    expect(session.httpOnly).toBe(true);
    expect(cookies.some((c) => c.name.includes('_tx_'))).toBe(false);

    // Logout: the gateway's confirm page, then the provider's, then our signed-out page.
    await page.goto(`${publicUrl}/claimgate/logout`);
    await page.click('button:has-text("Sign out")');
    await page.waitForSelector('button[value="yes"]');
    expect(page.url().startsWith(idp.issuer)).toBe(true);
    await page.click('button[value="yes"]');
    await page.waitForURL(`${publicUrl}/claimgate/signed-out`);
    expect(await page.textContent('h1')).toContain('signed out');
    // The session is gone here and at the provider: the app sends the browser to sign in again.
    await page.goto(`${publicUrl}/reports/42`);
    await page.waitForSelector('input[name="login"]');
    await context.close();
  }, 60_000);
});
