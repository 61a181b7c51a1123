import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LoadResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  requests: number;
}

function ms(text: string): number {
  const m = /([\d.]+)(us|ms|s|m)/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

/** Parses wrk's `--latency` report. Non-2xx/3xx answers and socket errors both count as errors. */
export function parseWrk(out: string): LoadResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = /\n\s+50%\s+(\S+)/.exec(out)?.[1] ?? '';
  const p99 = /\n\s+99%\s+(\S+)/.exec(out)?.[1] ?? '';
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]) : 0;
  return { rps, p50ms: ms(p50), p99ms: ms(p99), errors: non2xx + socketErrors, requests };
}

/** Runs wrk against `url` with the given headers. */
export async function wrk(url: string, opts: { seconds: number; connections: number; threads?: number; headers?: Record<string, string> }): Promise<LoadResult> {
  const args = ['-t', String(opts.threads ?? 1), '-c', String(opts.connections), '-d', `${opts.seconds}s`, '--latency'];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const { stdout } = await run('wrk', args, { maxBuffer: 1 << 20 });
  return parseWrk(stdout);
}
