import type { JobClock } from '../../src/features/jobs/clock.js';

interface Timer {
  due: number;
  seq: number;
  fn: () => unknown;
}

/**
 * A clock that only moves when told. `advanceTo` fires every timer that falls due on the way, in time order, and
 * awaits what each returns (the job run it started); timers due at the same instant fire together, so two
 * gateway instances sharing one clock race each other exactly as two real ones would at 02:00.
 */
export class FakeClock implements JobClock {
  private t: number;
  private seq = 0;
  private readonly timers = new Set<Timer>();

  constructor(start: number | string) {
    this.t = typeof start === 'string' ? Date.parse(start) : start;
  }

  now = (): number => this.t;

  setTimer(fn: () => unknown, ms: number): () => void {
    const timer = { due: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  /** Moves to `to` (ms or RFC 3339), firing and awaiting every timer due by then. */
  async advanceTo(to: number | string): Promise<void> {
    const target = typeof to === 'string' ? Date.parse(to) : to;
    for (;;) {
      const due = [...this.timers].filter((x) => x.due <= target);
      if (!due.length) break;
      const first = Math.min(...due.map((x) => x.due));
      const batch = due.filter((x) => x.due === first).sort((a, b) => a.seq - b.seq);
      this.t = Math.max(this.t, first);
      for (const x of batch) this.timers.delete(x);
      await Promise.all(batch.map((x) => Promise.resolve().then(x.fn)));
    }
    this.t = Math.max(this.t, target);
  }

  /** Pending timers' due times (RFC 3339), soonest first. */
  pending(): string[] {
    return [...this.timers].map((x) => x.due).sort((a, b) => a - b).map((d) => new Date(d).toISOString());
  }
}
