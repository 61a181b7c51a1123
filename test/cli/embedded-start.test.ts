import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli, type CliIo } from '../../src/app/cli/main.js';
import { call } from '../helpers/gateway.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/claimgate.js');
const SECRET = 'k'.repeat(40);

/**
 * `claimgate start` on the embedded database as a real process: a second process is refused with the owner named,
 * the CLI's credential commands go through the running gateway, SIGHUP does not end it, and start-up says that
 * configuration changes need a restart.
 */
describe('claimgate start on the embedded database (a real process)', () => {
  let dir: string;
  let configFile: string;
  let child: ChildProcess;
  let output = '';
  let url = '';
  const env = { ...process.env, S: SECRET, DATABASE_URL: '' };
  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (s) => out.push(s), err: (s) => err.push(s), env: { S: SECRET } };
    const code = await runCli(args, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const waitFor = async (re: RegExp, ms: number) => {
    const start = Date.now();
    while (!re.test(output)) {
      if (Date.now() - start > ms || child.exitCode !== null) throw new Error(`not seen: ${re} in:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cg-embedded-'));
    configFile = join(dir, 'claimgate.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({
        publicUrl: 'http://gateway.test',
        listen: { host: '127.0.0.1', port: 0 },
        session: { secret: '${S}' },
        upstream: { url: 'http://127.0.0.1:9' },
        database: { dataDir: join(dir, 'data') },
        jobs: { deletion: { enabled: false } },
      }),
    );
    child = spawn(process.execPath, [BIN, 'start', '--config', configFile], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => (output += String(c)));
    child.stderr!.on('data', (c: Buffer) => (output += String(c)));
    await waitFor(/"message":"claimgate started"/, 90_000);
    const started = output.split('\n').map((l) => (l.startsWith('{') ? JSON.parse(l) : {})).find((l) => l.message === 'claimgate started');
    url = started.url;
  }, 120_000);
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('start-up says that configuration changes need a restart', () => {
    expect(output).toMatch(/"configReload":"restart to apply changes of the configuration file/);
  });

  it('a second process is refused, naming the running one', () => {
    const second = spawnSync(process.execPath, [BIN, 'migrate', '--config', configFile], { cwd: dir, env, encoding: 'utf8', timeout: 90_000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`is in use by process ${child.pid} (claimgate start --config ${configFile}`);
  }, 100_000);

  it('tokens create/revoke from another process take effect in the running gateway at once', async () => {
    const created = await cli(['tokens', 'create', '--name', 'ops', '--scopes', 'admin:read', '--json', '--config', configFile]);
    expect(created.code).toBe(0);
    const { token } = JSON.parse(created.out) as { token: string };
    const auth = { authorization: `Bearer ${token}` };
    expect((await call(`${url}/claimgate/admin/v1/tokens`, { headers: auth })).status).toBe(200);
    expect((await cli(['tokens', 'revoke', 'ops', '--config', configFile])).code).toBe(0);
    expect((await call(`${url}/claimgate/admin/v1/tokens`, { headers: auth })).status).toBe(401);
  });

  it('SIGHUP does not end it; SIGTERM does, and releases the data directory', async () => {
    child.kill('SIGHUP');
    await waitFor(/SIGHUP ignored: configuration reload is not supported/, 10_000);
    expect((await call(`${url}/claimgate/health/live`)).status).toBe(200);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(join(dir, 'data', 'claimgate.lock'))).toBe(false);
  }, 30_000);
});
