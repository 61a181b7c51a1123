import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/app/cli/main.js';

describe('claimgate migrate', () => {
  it('names an unreachable database and why, without its password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-migrate-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, `publicUrl: https://bi.example.com\nsession: { secret: "${'a'.repeat(40)}" }\nupstream: { url: http://127.0.0.1:9000 }\n`);
    const err: string[] = [];
    const code = await runCli(['migrate', '--config', file], {
      out: () => undefined,
      err: (s) => err.push(s),
      env: { DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:1/x' },
    });
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/database is unavailable \(ECONNREFUSED/);
    expect(err.join('\n')).not.toContain('hunter2');
  });
});
