import { it, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const SUITES = ['test/users/concurrency.test.ts', 'test/admin/instances.test.ts'];

/** Runs Jest on two suites that need PostgreSQL, without it. */
function jestWithoutPostgres(extra: Record<string, string>) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.DATABASE_URL;
  delete env.CLAIMGATE_TEST_EMBEDDED;
  delete env.JEST_WORKER_ID;
  return spawnSync(process.execPath, ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js', '--ci=false', ...SUITES], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

it('every suite that skips says why, even when several skip in one run', () => {
  const run = jestWithoutPostgres({ CI: '' });
  expect(run.status).toBe(0);
  const lines = run.stderr.split('\n').filter((l) => l.startsWith('SKIPPED: '));
  expect(lines).toHaveLength(SUITES.length);
  for (const l of lines) expect(l).toMatch(/needs PostgreSQL: DATABASE_URL is not set/);
}, 150_000);

it('under CI=true a suite without what it needs fails instead of skipping', () => {
  const run = jestWithoutPostgres({ CI: 'true' });
  expect(run.status).not.toBe(0);
  expect(run.stderr).toMatch(/CI \(CI=true\) must provide it/);
}, 150_000);
