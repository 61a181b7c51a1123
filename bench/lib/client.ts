import { Agent, request } from 'undici';

export interface LatencyResult {
  count: number;
  errors: number;
  seconds: number;
  rate: number;
  p50ms: number;
  p99ms: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summarise(latencies: number[], errors: number, seconds: number): LatencyResult {
  latencies.sort((a, b) => a - b);
  return {
    count: latencies.length,
    errors,
    seconds,
    rate: latencies.length / seconds,
    p50ms: percentile(latencies, 50),
    p99ms: percentile(latencies, 99),
  };
}

const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 10_000 });

/**
 * Runs `jobs` (each one HTTP request built by `make(i)`) with `concurrency` in flight; `ok` decides success.
 * Used for logins, where each request needs its own pre-minted token.
 */
export async function runConcurrent(
  total: number,
  concurrency: number,
  make: (i: number) => { url: string; method?: string; headers?: Record<string, string>; body?: string },
  ok: (status: number) => boolean,
): Promise<LatencyResult> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const r = make(i);
      const t0 = performance.now();
      try {
        const res = await request(r.url, { method: (r.method ?? 'GET') as 'GET', headers: r.headers, body: r.body, dispatcher: agent });
        await res.body.dump();
        if (ok(res.statusCode)) latencies.push(performance.now() - t0);
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summarise(latencies, errors, (performance.now() - start) / 1000);
}

/** Sends requests at a fixed rate (open loop: a slow answer does not slow the sender) and measures latency. */
export async function fixedRate(url: string, opts: { rate: number; seconds: number; headers?: Record<string, string> }): Promise<LatencyResult> {
  const latencies: number[] = [];
  let errors = 0;
  const total = opts.rate * opts.seconds;
  const interval = 1000 / opts.rate;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // Open loop: the next request goes out on schedule whatever the previous answers do.
    const sent = performance.now();
    pending.push(
      request(url, { headers: opts.headers, dispatcher: agent }).then(
        async (res) => {
          await res.body.dump();
          if (res.statusCode < 400) latencies.push(performance.now() - sent);
          else errors++;
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  return summarise(latencies, errors, (performance.now() - start) / 1000);
}
