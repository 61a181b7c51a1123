import { it, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/**
 * A skip decided anywhere else would be silent (Jest hides the console of a fully skipped file) and would pass in CI:
 * every file that skips takes its decision from test/helpers/skip.ts, directly or through requireBinary
 * (test/helpers/nginx.ts) or describeIfPostgres (test/helpers/db.ts), which print the reason and fail under CI=true.
 */
it('every test file that can skip decides it through the skip helper', () => {
  const files = spawnSync('git', ['ls-files', 'test'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n').filter((f) => f.endsWith('.ts'));
  const helpers = ['test/helpers/skip.ts', 'test/helpers/db.ts', 'test/helpers/nginx.ts'];
  const skipping = files.filter((f) => !helpers.includes(f) && /\b(describe|it|test)\.skip\b|\bx(it|describe)\(/.test(readFileSync(resolve(ROOT, f), 'utf8')));
  expect(skipping.length).toBeGreaterThan(0);
  for (const f of skipping) {
    const text = readFileSync(resolve(ROOT, f), 'utf8');
    expect([f, /\b(skipUnless|requireBinary|describeIfAvailable)\(/.test(text)]).toEqual([f, true]);
  }
});
