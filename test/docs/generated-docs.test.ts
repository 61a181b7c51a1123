import { describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ROOT, generateDocs } from '../../scripts/generate-docs.js';
import { renderConfigReference } from '../../scripts/docs/config-reference.js';

/** The first line where two texts differ, to point at the drift instead of printing two whole pages. */
function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}:\n  committed: ${x[i] ?? '(end of file)'}\n  generated: ${y[i] ?? '(end of file)'}`;
  }
  return '';
}

function stalePages(root: string): string[] {
  return generateDocs(root)
    .filter((p) => p.current !== p.generated)
    .map((p) => `${p.file} differs from what scripts/generate-docs.ts writes; run \`npm run docs\` and commit it. First difference at ${firstDifference(p.current, p.generated)}`);
}

describe('docs generated from the code', () => {
  it('docs/configuration.md and docs/errors.md match the schema and the error table', () => {
    expect(stalePages(ROOT)).toEqual([]);
  });

  it('the configuration reference lists every key of the schema, with its default and description', () => {
    const page = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
    expect(page).toContain('| `session.idleTimeoutSeconds` | integer ≥ 1 | `1800` | The session ends after this long without a request');
    expect(page).toContain('| `issuers[].oidc.responseMode` | `query` \\| `form_post` | `"query"` |');
    expect(page).toContain('| `upstream.url` | URL | required |');
  });

  it('a key added without a description still gets its line, with type and default and nothing made up', () => {
    const schema = z.strictObject({
      plain: z.string().optional(),
      section: z.strictObject({ count: z.number().int().min(1).max(9).default(3), mode: z.enum(['a', 'b']) }).optional(),
      list: z.array(z.strictObject({ name: z.string().describe('The name.') })).default([]),
    });
    expect(renderConfigReference(schema).split('\n')).toEqual([
      '### Top level',
      '',
      '| key | type | default | description |',
      '|---|---|---|---|',
      '| `plain` | string | — |  |',
      '',
      '### `section`',
      '',
      '| key | type | default | description |',
      '|---|---|---|---|',
      '| `section` | object | — |  |',
      '| `section.count` | integer 1–9 | `3` |  |',
      '| `section.mode` | `a` \\| `b` | required |  |',
      '',
      '### `list`',
      '',
      '| key | type | default | description |',
      '|---|---|---|---|',
      '| `list` | list of object | `[]` |  |',
      '| `list[].name` | string | required | The name. |',
    ]);
  });

  it('a hand edit inside the generated part is reported, and prose outside it is kept', () => {
    const root = mkdtempSync(join(tmpdir(), 'claimgate-docs-'));
    cpSync(join(ROOT, 'docs'), join(root, 'docs'), { recursive: true });
    const file = join(root, 'docs/configuration.md');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('| `listen.port` | integer 0–65535 | `8080` |', '| `listen.port` | integer 0–65535 | `9090` |'));
    expect(stalePages(root)).toEqual([expect.stringContaining('docs/configuration.md differs')]);
    writeFileSync(file, original.replace('## Notes by section', '## Notes by section\n\nA hand-written sentence.'));
    const [page] = generateDocs(root).filter((p) => p.file === 'docs/configuration.md');
    expect(page.generated).toContain('A hand-written sentence.');
    expect(page.generated).toBe(page.current);
  });
});
