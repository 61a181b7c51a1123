import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** A free TCP port on loopback (the listener is closed again before the port is used). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Resolves once something accepts connections on the port, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 30_000, child?: ChildProcess): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`process exited with ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() - start > timeoutMs) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Proc {
  name: string;
  child: ChildProcess;
  /** The main process and its children (cluster workers, nginx/apache workers). */
  pids(): number[];
  stop(): Promise<void>;
  output(): string;
}

/** Spawns a long-running server; its output is kept (bounded) for error messages. */
export function startProc(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return {
    name,
    child,
    pids() {
      if (!child.pid) return [];
      try {
        const kids = execFileSync('pgrep', ['-P', String(child.pid)]).toString().trim().split('\n').filter(Boolean).map(Number);
        return [child.pid, ...kids];
      } catch {
        return [child.pid];
      }
    },
    async stop() {
      if (child.exitCode !== null || !child.pid) return;
      const done = new Promise((r) => child.once('exit', r));
      // The main process only: it stops its own children (a cluster primary ends its workers, which then exit
      // normally and write their --cpu-prof profiles; a second signal would kill them first). Whatever is left of
      // the group afterwards is killed.
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const killGroup = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      };
      const t = setTimeout(killGroup, 5000);
      await done;
      clearTimeout(t);
      await new Promise((r) => setTimeout(r, 200));
      killGroup();
    },
    output: () => out,
  };
}

/** Resident set size of a process in MiB (from /proc), or null when it is gone. */
export function rssMiB(pid: number): number | null {
  try {
    const status = execFileSync('cat', [`/proc/${pid}/status`]).toString();
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

export function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** User + system CPU time a process has used, in ms (from /proc), 0 when it is gone. */
export function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** The CPU time of several processes together, in ms. */
export function cpuOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
}

/** Every PostgreSQL server process on this machine (the benchmark's database is the only busy one). */
export function postgresPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
