/** Waits until `check` holds, polling every 20 ms; returns how long it took (ms), or throws after `ms`. */
export async function within(ms: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition not met within ${ms} ms`);
}

/**
 * How long a test waits for a change made through one process (instance) to show on another. The invalidation bus
 * brings it there in about a second, but a check made of several HTTP calls can take longer than that by itself on a
 * loaded machine. Five seconds is still far below the 30 s maximum age of every cache (and mappings and SCIM role
 * rules have no other way to another process), so only the bus message can have done it.
 */
export const ACROSS_PROCESSES_MS = 5000;
