import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../scripts/generate-docs.js';
import { brokenLinks } from '../../scripts/docs/links.js';

/**
 * Pages linked from the docs that are being written on other branches. Once they are merged this list is emptied;
 * a link to anything else that does not exist fails the test.
 */
const PENDING = new Set([
  'docs/console.md',
  'docs/cli.md',
  'docs/providers/README.md',
  'docs/providers/entra.md',
  'docs/providers/okta.md',
  'docs/providers/keycloak.md',
  'docs/providers/auth0.md',
  'docs/providers/google.md',
  'docs/logs.md',
  'docs/scim-roles.md',
  'docs/event-receiver.md',
  'docs/observability.md',
  'docs/deployment-kubernetes.md',
  'docs/deployment-node.md',
]);

describe('docs: relative links', () => {
  it('every relative link in README.md and docs/**/*.md points to an existing file', () => {
    const broken = brokenLinks(ROOT).filter((l) => !PENDING.has(l.path));
    expect(broken.map((l) => `${l.from}: (${l.target}) -> ${l.path} does not exist`)).toEqual([]);
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
