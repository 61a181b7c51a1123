import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The file in an embedded data directory that says which process has it open. */
export const LOCK_FILE = 'claimgate.lock';

/** What the lock file holds (JSON). `adminSocket` is set once a running gateway serves local admin commands. */
export interface LockOwner {
  pid: number;
  /** When the owning process started (ms since the epoch): tells a live owner from a recycled pid. */
  startedAt: number;
  host: string;
  command: string;
  adminSocket?: string;
}

/** A second process tried to open a data directory that a live process holds. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner,
  ) {
    super(
      `the embedded database in ${dir} is in use by process ${owner.pid} (${owner.command}, started ${new Date(owner.startedAt).toISOString()}); ` +
        'only one process may open it: stop that process, or run admin commands against it (claimgate tokens … works with a running gateway)',
    );
  }
}

export interface DataDirLock {
  readonly file: string;
  readonly owner: LockOwner;
  /** Rewrites the lock file with extra facts (the admin socket path). */
  update(extra: Partial<Pick<LockOwner, 'adminSocket'>>): void;
  release(): void;
}

/** Start time of this process, rounded the way /proc reports it (to the clock tick). */
function ownStartTime(): number {
  return processStartTime(process.pid) ?? Math.round(Date.now() - process.uptime() * 1000);
}

/**
 * Start time of another process from /proc (Linux), or null when it cannot be known. Compared with the
 * recorded one, it tells whether the pid in a lock file still names the process that wrote it.
 */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return null;
    // Linux reports in USER_HZ, which is 100 on every architecture Node supports.
    return btime * 1000 + ticks * 10;
  } catch {
    return null;
  }
}

function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // another machine's process cannot be checked: assume it runs
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStartTime(owner.pid);
  // A pid reused by a later process is not the owner (2 s of slack for clock-tick rounding).
  return started === null || Math.abs(started - owner.startedAt) < 2000;
}

/** Reads the owner recorded in a data directory, or null when there is no (readable) lock. */
export function readLockOwner(dir: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockOwner;
    return typeof owner.pid === 'number' && typeof owner.startedAt === 'number' ? owner : null;
  } catch {
    return null;
  }
}

/** The owner of a data directory when it is a live process (this one included). */
export function liveLockOwner(dir: string): LockOwner | null {
  const owner = readLockOwner(dir);
  return owner && isAlive(owner) ? owner : null;
}

/**
 * Takes the data directory for this process: creates the lock file exclusively; a lock left by a process that
 * is gone (crash, kill -9) is replaced. Throws DataDirLockedError when a live process holds it.
 */
export function lockDataDir(dir: string, command = process.argv.slice(2).join(' ') || 'node'): DataDirLock {
  const file = join(dir, LOCK_FILE);
  const owner: LockOwner = { pid: process.pid, startedAt: ownStartTime(), host: hostname(), command: `claimgate ${command}`.trim() };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const existing = readLockOwner(dir);
      if (existing && isAlive(existing)) throw new DataDirLockedError(dir, existing);
      // Stale (or half-written by a process that died while writing it): remove and try again.
      try {
        unlinkSync(file);
      } catch {
        // another process removed it first; the next attempt decides
      }
      continue;
    }
    writeSync(fd, JSON.stringify(owner));
    closeSync(fd);
    let current = owner;
    return {
      file,
      get owner() {
        return current;
      },
      update(extra) {
        current = { ...current, ...extra };
        const tmp = `${file}.${process.pid}`;
        const tfd = openSync(tmp, 'w', 0o644);
        writeSync(tfd, JSON.stringify(current));
        closeSync(tfd);
        // rename is atomic: a reader sees the old or the new owner, never half of one
        renameSync(tmp, file);
      },
      release() {
        const now = readLockOwner(dir);
        if (now && now.pid === process.pid && now.host === owner.host) {
          try {
            unlinkSync(file);
          } catch {
            // already gone
          }
        }
      },
    };
  }
  throw new Error(`could not lock ${dir}: its lock file keeps changing`);
}
