import { describe, it } from '@jest/globals';

/**
 * The one way a suite skips for want of something (PostgreSQL, nginx, chromium): it says so on stderr and, under
 * CI=true (where everything is installed), fails instead. Written to stderr directly because Jest does not show
 * the console output of a file whose tests were all skipped.
 */
export function skipUnless(available: boolean, reason: string): 'run' | 'skip' | 'fail' {
  if (available) return 'run';
  if (process.env.CI === 'true') return 'fail';
  process.stderr.write(`SKIPPED: ${reason}\n`);
  return 'skip';
}

/** `describe` when `available`; otherwise skipped with `reason` printed, or failing under CI=true. */
export function describeIfAvailable(available: boolean, reason: string, name: string, fn: () => void): void {
  const mode = skipUnless(available, `"${name}": ${reason}`);
  if (mode === 'run') describe(name, fn);
  else if (mode === 'skip') describe.skip(name, fn);
  else {
    describe(name, () => {
      it('has what it needs in CI', () => {
        throw new Error(`${reason}; CI (CI=true) must provide it`);
      });
    });
  }
}
