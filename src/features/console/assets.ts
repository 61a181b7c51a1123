import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../core/package-root.js';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface ConsoleAssets {
  /** Changes whenever any file changes: asset URLs carry it, so browsers may cache them for good. */
  version: string;
  get(name: string): { body: Buffer; type: string } | undefined;
  /** The script files, so the shell can ask for all of them at once instead of one import level at a time. */
  scripts: string[];
}

/**
 * The console's browser files: plain ES modules and CSS in static/ next to this file in the sources, and in
 * dist/features/console/static after a build (the bundle's modules sit elsewhere in dist/).
 */
function staticDir(): string {
  const beside = fileURLToPath(new URL('./static', import.meta.url));
  return existsSync(beside) ? beside : join(packageRoot(), 'dist/features/console/static');
}

/** The console's browser files, read once. They are small, so memory is the cheapest place to serve them from. */
export function loadConsoleAssets(dir = staticDir()): ConsoleAssets {
  const files = new Map<string, { body: Buffer; type: string }>();
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).sort()) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(dir, name));
    files.set(name, { body, type });
    hash.update(name).update('\0').update(body);
  }
  const scripts = [...files.keys()].filter((n) => n.endsWith('.js'));
  return { version: hash.digest('hex').slice(0, 12), get: (name) => files.get(name), scripts };
}
