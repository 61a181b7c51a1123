/**
 * `npm run build`: the gateway as a bundle of ES modules in dist/, the form the image runs.
 *
 * - dist/app/cli/main.js is the command line; every command and the gateway itself are chunks it imports when
 *   needed (dist/app/cli/chunks/), so `claimgate start`'s primary process loads only what it uses and each worker
 *   loads the gateway in a few files instead of some 1,350 modules. Start-up is about a third faster (docs/operations.md,
 *   scenario s).
 * - Left outside the bundle and loaded from node_modules: the embedded database (its WebAssembly and data files
 *   sit in its package), the OpenTelemetry SDK (loaded only when tracing is on), and the database drivers knex
 *   names but claimgate never uses.
 * - migrations/ and package.json stay next to dist/; the console's files are copied to dist/features/console/static.
 *
 * `npm run typecheck` checks the types; esbuild only strips them.
 */
import { cpSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');

/** Packages resolved at run time from node_modules instead of being bundled. */
const EXTERNAL = [
  '@electric-sql/pglite',
  '@opentelemetry/core',
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/resources',
  // Drivers of knex's other dialects and pg's optional native binding: required by name, never installed.
  'pg-native',
  'pg-query-stream',
  'sqlite3',
  'better-sqlite3',
  'mysql',
  'mysql2',
  'mariadb',
  'mariadb/*',
  'oracledb',
  'tedious',
];

/** Builds into `<outRoot>/dist` (the project's own dist/ by default). */
export async function buildBundle(outRoot = ROOT): Promise<void> {
  const dist = join(outRoot, 'dist');
  rmSync(dist, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: { 'app/cli/main': 'src/app/cli/main.ts' },
    outdir: dist,
    chunkNames: 'app/cli/chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    packages: 'bundle',
    external: EXTERNAL,
    // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
    banner: { js: "import { createRequire as __claimgateRequire } from 'node:module'; const require = __claimgateRequire(import.meta.url);" },
    // Whitespace and syntax only: names stay (stack traces and profiles read as they do from the sources).
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  cpSync(join(ROOT, 'src/features/console/static'), join(dist, 'features/console/static'), { recursive: true });
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const outRoot = process.argv[2] ? resolve(process.argv[2]) : ROOT;
  await buildBundle(outRoot);
  process.stdout.write(`built ${join(outRoot, 'dist')}\n`);
}
