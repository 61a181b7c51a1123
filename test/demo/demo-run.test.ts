import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from '@jest/globals';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx/cli');

let child: ChildProcess | null = null;
const dataDir = mkdtempSync(join(tmpdir(), 'claimgate-demo-run-'));

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * `npm run demo` as a person starts it (demo/run.ts, free ports, its own data folder): what it prints leads into the
 * console, signed in as the platform-team person who may change mappings.
 */
it('prints the console URL and a sign-in link of a platform person with the console’s write role', async () => {
  child = spawn(process.execPath, [TSX, 'demo/run.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', DEMO_PROVIDER_PORT: '0', DEMO_APP_PORT: '0', DEMO_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const printed = await new Promise<string>((resolve, reject) => {
    child!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/straight into the console[^\n]*\n\s*\S+\n/.test(out)) resolve(out);
    });
    child!.once('exit', (code) => reject(new Error(`demo exited (${code}) before printing the console link:\n${out}\n${err}`)));
  });

  const url = /^ Console:\s+(\S+)\s+\(sign in as Margaret, platform team/m.exec(printed)?.[1];
  expect(url).toMatch(/^http:\/\/[^/]+\/claimgate\/console\/$/);
  const link = /straight into the console[^\n]*\n\s*(\S+)\n/.exec(printed)![1]!;
  expect(link.startsWith(`${new URL(url!).origin}/claimgate/sso?jwt=`)).toBe(true);

  // Without a session the console sends the browser to sign in and back.
  const anonymous = await fetch(url!, { headers: { accept: 'text/html' }, redirect: 'manual' });
  await anonymous.body?.cancel();
  expect(anonymous.status).toBe(302);
  expect(anonymous.headers.get('location')).toBe('/claimgate/login?return_to=%2Fclaimgate%2Fconsole%2F');

  const signIn = await fetch(link, { redirect: 'manual' });
  await signIn.body?.cancel();
  expect(signIn.status).toBe(303);
  expect(signIn.headers.get('location')).toBe('/claimgate/console/');
  const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
  const page = await fetch(url!, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('claimgate console');
  const me = (await (await fetch(new URL('/claimgate/me', url!), { headers: { cookie } })).json()) as { user: { usercode: string }; adminScopes: string[] };
  expect(me.user.usercode).toBe('margaret');
  expect(me.adminScopes).toEqual(['admin:read', 'admin:write']);
}, 120_000);
