import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../../scripts/generate-docs.js';
import { ERROR_TABLE, errorEntry } from '../../src/core/errors/table.js';

/**
 * Every place in src/ that raises a problem-format error, found by reading the source: `new GatewayError('code',
 * status, ...)`, `new TokenError('code', ..., { status })` (401 unless a status is given) and
 * `new UnavailableError('code', ...)` (503). Subclasses with a fixed code are listed by hand below.
 */
interface Site {
  file: string;
  code: string;
  status: number | undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

export function errorSites(text: string, file: string): Site[] {
  const sites: Site[] = [];
  const re = /new (GatewayError|TokenError|UnavailableError)\(\s*'([a-z0-9_]+)'\s*,\s*/g;
  for (const m of text.matchAll(re)) {
    const rest = text.slice(m.index + m[0].length);
    const call = rest.slice(0, rest.search(/\)\s*[;,\n]/) + 1 || 400);
    let status: number | undefined;
    if (m[1] === 'GatewayError') status = /^\d{3}\b/.test(rest) ? Number(rest.slice(0, 3)) : undefined;
    else if (m[1] === 'UnavailableError') status = 503;
    else status = Number(/status:\s*(\d{3})/.exec(call)?.[1] ?? 401);
    sites.push({ file, code: m[2], status });
  }
  return sites;
}

/** Codes raised by subclasses with a fixed code, which the scan above does not see. */
const FIXED_CODE_SUBCLASSES: Site[] = [{ file: 'src/core/mapping/errors.ts', code: 'mapping_invalid', status: 400 }];

const sites = [
  ...sourceFiles(join(ROOT, 'src')).flatMap((f) => errorSites(readFileSync(f, 'utf8'), relative(ROOT, f))),
  ...FIXED_CODE_SUBCLASSES,
];

describe('the error table (src/core/errors/table.ts, rendered as docs/errors.md)', () => {
  it('finds the construction sites it checks', () => {
    expect(sites.length).toBeGreaterThan(90);
    expect(errorSites("throw new TokenError('jwks_unavailable', 'x', {\n  status: 503,\n});", 'f')).toEqual([
      { file: 'f', code: 'jwks_unavailable', status: 503 },
    ]);
    expect(errorSites("new GatewayError(\n  'oidc_state_mismatch',\n  400,\n  'x')", 'f')[0].status).toBe(400);
  });

  it('lists every code raised in src/, with the status it is raised with', () => {
    const missing = sites.filter((s) => !errorEntry(s.code)).map((s) => `${s.code} (${s.file})`);
    expect(missing).toEqual([]);
    const wrongStatus = sites
      .filter((s) => s.status !== undefined && !errorEntry(s.code)!.statuses.includes(s.status))
      .map((s) => `${s.code}: raised with ${s.status} in ${s.file}, table says ${errorEntry(s.code)!.statuses.join('/')}`);
    expect(wrongStatus).toEqual([]);
  });

  it('lists no code that nothing raises any more', () => {
    const raised = new Set(sites.map((s) => s.code));
    const source = sourceFiles(join(ROOT, 'src'))
      .filter((f) => !f.endsWith('errors-table.ts'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const stale = Object.keys(ERROR_TABLE).filter((code) => !raised.has(code) && !source.includes(`'${code}'`));
    expect(stale).toEqual([]);
  });

  it('every code is on docs/errors.md', () => {
    const page = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    expect(Object.keys(ERROR_TABLE).filter((code) => !page.includes(`| \`${code}\` |`))).toEqual([]);
  });
});
