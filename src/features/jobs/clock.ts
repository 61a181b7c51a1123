/**
 * The scheduler's notion of time, passed in so a test can drive a whole night of jobs in milliseconds
 * (see test/helpers/fake-clock.ts).
 */
export interface JobClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fn` once `ms` have passed. A returned promise is awaited by fake clocks, so a test that advances
   * the clock also waits for the run it triggered. Returns the cancel function.
   */
  setTimer(fn: () => unknown, ms: number): () => void;
}

/** Longest single setTimeout Node accepts (about 24.8 days); longer waits are chained. */
const MAX_TIMEOUT = 2 ** 31 - 1;

/** Wall-clock time; timers never keep the process alive. */
export const systemClock: JobClock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    let handle: NodeJS.Timeout;
    const arm = (left: number) => {
      handle = setTimeout(() => (left > MAX_TIMEOUT ? arm(left - MAX_TIMEOUT) : void fn()), Math.min(left, MAX_TIMEOUT));
      handle.unref();
    };
    arm(Math.max(0, ms));
    return () => clearTimeout(handle);
  },
};
