import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The folder of claimgate's own package.json (where migrations/ sits), found upward from this module. The same
 * answer whether the code runs from the TypeScript sources, from a bundle in dist/ (`npm run build`), or from the
 * image's /app: files next to the package (migrations, the console's assets, the version) are found from here, never
 * by a relative path that depends on how deep a module sits.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && existsSync(join(dir, 'migrations')) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'claimgate') {
      return (root = dir);
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('claimgate cannot find its package folder (package.json with migrations/ next to it)');
    dir = up;
  }
}
