import { startDemo } from './demo.js';
import { PEOPLE } from './people.js';

/**
 * `npm run demo`. Ports: PORT (gateway, default 8080), DEMO_PROVIDER_PORT (default 4100), DEMO_APP_PORT
 * (default 9100); DEMO_DATA_DIR (default ./.claimgate/demo-data).
 */

function port(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`${name}=${v} is not a port number (0-65535)`);
    process.exit(2);
  }
  return n;
}

const demo = await startDemo({
  gatewayPort: port('PORT', 8080),
  providerPort: port('DEMO_PROVIDER_PORT', 4100),
  appPort: port('DEMO_APP_PORT', 9100),
  dataDir: process.env.DEMO_DATA_DIR || undefined,
}).catch((e: unknown) => {
  const message = e instanceof Error ? e.message : String(e);
  console.error(`demo failed to start: ${message}`);
  if (/EADDRINUSE|already in use/.test(message)) {
    console.error('Is another demo running? Choose other ports with PORT (gateway), DEMO_PROVIDER_PORT and DEMO_APP_PORT.');
  }
  process.exit(1);
});

const links = await Promise.all(PEOPLE.map(async (p) => ({ p, link: await demo.ssoLink(p) })));
const consoleUrl = `${demo.gatewayUrl}/claimgate/console/`;
const consoleLink = await demo.ssoLink('margaret', '/claimgate/console/');
const line = '-'.repeat(78);
console.log(
  [
    '',
    line,
    ' claimgate demo is running',
    line,
    ` Open:            ${demo.gatewayUrl}/portal   (the portal: a fresh sign-in link per click)`,
    ` Sign in (OIDC):  ${demo.loginUrl}   (the demo provider: pick Ada, Grace or Margaret)`,
    ` Console:         ${consoleUrl}   (sign in as Margaret, platform team: she may change mappings)`,
    `   Margaret, straight into the console (single use, 10 minutes):`,
    `     ${consoleLink}`,
    ` The app:         ${demo.gatewayUrl}/dashboards/42   (through the gateway; sign in first)`,
    ` Identity (JSON): ${demo.gatewayUrl}/claimgate/me`,
    ` OpenID provider: ${demo.providerUrl}/.well-known/openid-configuration`,
    ` App, direct:     ${demo.appUrl}   (no gateway, so no identity)`,
    '',
    ' One-time SSO links (single use, valid 10 minutes; the portal mints new ones):',
    ...links.flatMap(({ p, link }) => [
      `  ${p.name} (${p.preferred_username}; groups ${p.groups.join(', ')}; regions ${p.regions.join(', ')}):`,
      `    ${link}`,
    ]),
    '',
    ' Ada is an admin (she may open /admin/settings; she may look around the console); Grace is an analyst (she gets',
    ' 403 there and in the console). Margaret is the platform team: the console lets her change the mappings.',
    ' Stop with Ctrl-C.',
    line,
    '',
  ].join('\n'),
);

let stoppingSince = 0;
const stop = (signal: string) => {
  if (stoppingSince) {
    // Ctrl-C can arrive twice at once (from the terminal and relayed by tsx); only a later one forces.
    if (Date.now() - stoppingSince < 1000) return;
    console.error('forced exit');
    process.exit(1);
  }
  stoppingSince = Date.now();
  console.log(`\n${signal}: stopping the demo...`);
  demo.close().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`stopping failed: ${String(e)}`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
