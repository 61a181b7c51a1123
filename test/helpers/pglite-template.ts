import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase, type DatabaseOptions } from '../../src/store/db/index.js';
import { MIGRATIONS, migrationUrl } from '../../src/store/db/migrations.js';

/** A lock older than this was left by a run that died while building; it is taken over. */
const STALE_LOCK_MS = 120_000;

/**
 * Names the template after everything that shapes it: the migration list, each file's bytes and the PGlite
 * version (its data directory format). A changed or added migration, from any branch, gives a new template.
 */
export function templateKey(
  migrations: readonly string[] = MIGRATIONS,
  contentOf: (name: string) => Uint8Array = (name) => readFileSync(fileURLToPath(migrationUrl(name))),
): string {
  const hash = createHash('sha256');
  hash.update(`pglite ${pgliteVersion()}\n`);
  for (const name of migrations) {
    const content = contentOf(name);
    hash.update(`${name}\n${content.length}\n`);
    hash.update(content);
  }
  return hash.digest('hex').slice(0, 24);
}

function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  let dir = dirname(entry);
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@electric-sql/pglite') return pkg.version ?? 'unknown';
    } catch {
      // not the package root yet
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

const templatePath = (key: string) => join(tmpdir(), `claimgate-pglite-${key}.tar`);

/**
 * The dump of a migrated PGlite, built once per set of migrations and shared by every test file and Jest
 * worker through a file in the temp directory. Returns null while another process is building it (the caller
 * then migrates on its own, which is what every file did before), so nothing ever waits on a lock.
 */
export async function migratedTemplate(options: Omit<DatabaseOptions, 'url'>): Promise<Blob | null> {
  const path = templatePath(templateKey());
  const existing = await readFile(path).catch(() => null);
  if (existing) return new Blob([existing]);
  const lock = `${path}.lock`;
  const handle = await open(lock, 'wx').catch(async () => {
    const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age < STALE_LOCK_MS) return null;
    await unlink(lock).catch(() => undefined);
    return open(lock, 'wx').catch(() => null);
  });
  if (!handle) return null;
  try {
    const db = await openDatabase({ ...options, url: '', inMemory: true });
    let dump: Blob;
    try {
      await db.migrate();
      if (!db.dumpDataDir) return null;
      dump = await db.dumpDataDir();
    } finally {
      await db.close();
    }
    // Written aside, then renamed: a reader sees the whole file or none.
    const partial = `${path}.${process.pid}.partial`;
    try {
      await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
      await rename(partial, path);
    } catch (e) {
      await unlink(partial).catch(() => undefined);
      throw e;
    }
    await removeOldTemplates(path);
    return dump;
  } finally {
    await handle.close();
    await unlink(lock).catch(() => undefined);
  }
}

/** Other branches may still use their template, so only day-old ones (about 40 MB each) are removed. */
async function removeOldTemplates(keep: string): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of names) {
    const file = join(tmpdir(), name);
    if (!/^claimgate-pglite-[0-9a-f]{24}\.tar$/.test(name) || file === keep) continue;
    const age = await stat(file).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > 24 * 3600_000) await unlink(file).catch(() => undefined);
  }
}

/** Removes the current template (it failed to load), so the next test file builds a new one. */
export async function discardTemplate(): Promise<void> {
  await unlink(templatePath(templateKey())).catch(() => undefined);
}
