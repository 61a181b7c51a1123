import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../scripts/generate-docs.js';
import { brokenAnchors, brokenLinks, headingAnchors } from '../../scripts/docs/links.js';

describe('docs: relative links', () => {
  it('every relative link in README.md and docs/**/*.md points to an existing file', () => {
    const broken = brokenLinks(ROOT);
    expect(broken.map((l) => `${l.from}: (${l.target}) -> ${l.path} does not exist`)).toEqual([]);
  });

  it('every #anchor of a link to a markdown page names a heading of that page', () => {
    expect(brokenAnchors(ROOT).map((l) => `${l.from}: (${l.target}) has no such heading`)).toEqual([]);
  });

  it('computes anchors as GitHub does, and finds a link to a missing heading', () => {
    expect([...headingAnchors('# API credentials and `/claimgate/oauth/token`\n## Notes\n## Notes\n```\n# not a heading\n```\n')]).toEqual([
      'api-credentials-and-claimgateoauthtoken',
      'notes',
      'notes-1',
    ]);
    const root = mkdtempSync(join(tmpdir(), 'claimgate-anchors-'));
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs', 'a.md'), '# A page\n\n## Sessions\n\n[self](#sessions) [gone](#nothing)\n');
    writeFileSync(join(root, 'README.md'), '[ok](docs/a.md#sessions) [bad](docs/a.md#session)\n');
    expect(brokenAnchors(root)).toEqual([
      { from: 'README.md', target: 'docs/a.md#session' },
      { from: 'docs/a.md', target: '#nothing' },
    ]);
  });

  it('finds a broken link, and ignores links inside code, absolute URLs and anchors', () => {
    const root = mkdtempSync(join(tmpdir(), 'claimgate-links-'));
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs', 'a.md'), '# A\n');
    writeFileSync(
      join(root, 'README.md'),
      [
        '[ok](docs/a.md#a) [gone](docs/missing.md) [web](https://example.com/x.md) [here](#top)',
        '`[not a link](nowhere.md)`',
        '```',
        '[also not](nowhere-either.md)',
        '```',
        '[ref]: docs/absent.md',
      ].join('\n'),
    );
    writeFileSync(join(root, 'docs', 'b.md'), '[up](../README.md) [sibling](a.md) [bad](../src/none.ts)\n');
    expect(brokenLinks(root).map((l) => `${l.from} -> ${l.path}`)).toEqual([
      'README.md -> docs/missing.md',
      'README.md -> docs/absent.md',
      'docs/b.md -> src/none.ts',
    ]);
  });
});

describe('docs pages named in the source', () => {
  it('every docs/… page (and #heading) a comment in src/ names exists', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
    const named = files(join(ROOT, 'src'))
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\bdocs\/[\w./-]+\.md(?:#[\w-]+)?/g)].map((m) => m[0]));
    expect(named.length).toBeGreaterThan(20);
    const missing = [...new Set(named)].filter((ref) => {
      const [page, anchor] = ref.split('#');
      if (!existsSync(join(ROOT, page))) return true;
      return anchor !== undefined && !headingAnchors(readFileSync(join(ROOT, page), 'utf8')).has(anchor);
    });
    expect(missing).toEqual([]);
  });
});
