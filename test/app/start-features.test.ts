import { describe, expect, it } from '@jest/globals';
import { startFeatures } from '../../src/app/wiring-b.js';
import type { Feature } from '../../src/web/feature.js';

/** A feature that notes its start and close in `log`, and fails to start when told to. */
const noting = (name: string, log: string[], fails = false): Feature => ({
  start() {
    log.push(`start ${name}`);
    if (fails) throw new Error(`${name} cannot start`);
  },
  close() {
    log.push(`close ${name}`);
  },
});

describe('starting the features', () => {
  it('starts them in order and closes them in reverse order', async () => {
    const log: string[] = [];
    const close = await startFeatures([noting('a', log), {}, noting('b', log)]);
    expect(log).toEqual(['start a', 'start b']);
    await close();
    expect(log).toEqual(['start a', 'start b', 'close b', 'close a']);
    await close();
    expect(log).toHaveLength(4);
  });

  it('closes what started when one fails, and throws its error', async () => {
    const log: string[] = [];
    await expect(startFeatures([noting('a', log), noting('b', log, true), noting('c', log)])).rejects.toThrow('b cannot start');
    expect(log).toEqual(['start a', 'start b', 'close b', 'close a']);
  });
});
