import { it, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

/** `npx claimgate` runs package.json's bin: it must work from a fresh `npm ci`, before any `npm run build`. */
it('the package bin runs the command line without a build (tsx on src/ when dist/ is absent)', () => {
  const bin = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin.claimgate!;
  const file = resolve(ROOT, bin);
  expect(existsSync(file)).toBe(true);
  const run = spawnSync(process.execPath, [file, 'help'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(run.stderr).not.toMatch(/Cannot find module|ERR_MODULE_NOT_FOUND/);
  expect(run.stdout).toMatch(/^usage: claimgate <command>/);
  expect(run.status).toBe(0);
});

/** The production image installs `dependencies` only: every package src/ imports must be there, and nothing else. */
it('runtime dependencies cover what src/ imports (oidc-provider is for the demo and tests only)', () => {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const files = spawnSync('git', ['ls-files', 'src'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n').filter((f) => f.endsWith('.ts'));
  const imported = new Set<string>();
  for (const f of files) {
    for (const m of readFileSync(resolve(ROOT, f), 'utf8').matchAll(/^(?:import|export)\s[^']*?from\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/gm)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('node:') || spec.startsWith('.')) continue;
      imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  for (const name of imported) expect([name, name in pkg.dependencies]).toEqual([name, true]);
  expect(Object.keys(pkg.dependencies)).not.toContain('oidc-provider');
});
