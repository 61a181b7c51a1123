/**
 * `npm run docs`: rewrites the generated parts of the docs pages from the code (the configuration schema and the
 * error table). The prose around the generated markers is kept. `--check` writes nothing and exits 1 when a page
 * differs, which is what test/docs/generated-docs.test.ts asserts too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { replaceGenerated } from './docs/markers.js';
import { renderConfigReference } from './docs/config-reference.js';
import { renderErrorsReference } from './docs/errors-reference.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const PARTS: { file: string; name: string; render: () => string }[] = [
  { file: 'docs/configuration.md', name: 'config-reference', render: renderConfigReference },
  { file: 'docs/errors.md', name: 'error-codes', render: renderErrorsReference },
];

/** Every page with generated parts: its path, what is committed, and what the generator would write. */
export function generateDocs(root = ROOT): { file: string; current: string; generated: string }[] {
  const pages = new Map<string, { current: string; generated: string }>();
  for (const part of PARTS) {
    const page = pages.get(part.file) ?? { current: readFileSync(join(root, part.file), 'utf8'), generated: '' };
    page.generated = replaceGenerated(page.generated || page.current, part.name, part.render());
    pages.set(part.file, page);
  }
  return [...pages].map(([file, p]) => ({ file, ...p }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const page of generateDocs()) {
    if (page.current === page.generated) continue;
    stale++;
    if (check) console.error(`${page.file} is out of date: run npm run docs`);
    else {
      writeFileSync(join(ROOT, page.file), page.generated);
      console.log(`wrote ${page.file}`);
    }
  }
  if (check && stale) process.exit(1);
}
