/**
 * Interleaved measurement: baseline, subject, baseline, subject… after a warm-up of each, so that JIT warm-up,
 * CPU frequency and a neighbour's load hit both sides alike. The result is the median of the per-round ratios
 * and their spread (min–max), which is what a table should print: a single pair of runs on a shared machine
 * swings by tens of percent.
 */
export interface Interleaved<R> {
  baseline: R[];
  subject: R[];
  /** subject / baseline per round, by `value`. */
  ratios: number[];
  median: number;
  min: number;
  max: number;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function interleave<R>(
  opts: { rounds: number; warmup: () => Promise<unknown>; baseline: () => Promise<R>; subject: () => Promise<R>; value: (r: R) => number },
): Promise<Interleaved<R>> {
  await opts.warmup();
  const baseline: R[] = [];
  const subject: R[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    const b = await opts.baseline();
    const s = await opts.subject();
    baseline.push(b);
    subject.push(s);
    ratios.push(opts.value(s) / opts.value(b));
  }
  return { baseline, subject, ratios, median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

/** The round whose value is the median (for printing its latencies beside the median ratio). */
export function medianOf<R>(results: R[], value: (r: R) => number): R {
  const m = median(results.map(value));
  return results.reduce((best, r) => (Math.abs(value(r) - m) < Math.abs(value(best) - m) ? r : best));
}
