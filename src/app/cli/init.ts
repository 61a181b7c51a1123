import { parseFlags, type CliIo } from './io.js';
import { PRESETS, type PresetName } from '../../core/config/idp-schema.js';
import { STARTERS } from './init-starters.js';

/** `claimgate init --preset P`: prints a commented starter configuration for that provider. */
export async function initCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(args, { preset: { type: 'string', short: 'p' } });
  const preset = values.preset as string | undefined;
  if (preset === undefined || !(PRESETS as readonly string[]).includes(preset)) {
    io.err(`claimgate init: --preset must be one of ${PRESETS.join(', ')}`);
    return 1;
  }
  io.out(STARTERS[preset as PresetName]);
  return 0;
}
