import { parseArgs } from 'node:util';
import { loadConfigFile, resolveConfigPath, type ConfigNeeds } from '../../core/config/load.js';
import type { Config } from '../../core/config/schema.js';

/** What every command shares: exit codes, output streams, flag parsing and the configuration flag. */

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, problems: 1, unreadable: 2, denied: 3 } as const;

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

/** A bad command-line argument: printed as one line, exit 1. */
export class UsageError extends Error {}

/** parseArgs with our error type (so a bad flag is a clear message, not a stack trace). */
export function parseFlags<T extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

/** Loads the configuration named by `--config` (throws ConfigError). */
export function configFromFlag(flag: string | undefined, io: CliIo, needs: ConfigNeeds = 'all'): { file: string; config: Config } {
  const file = resolveConfigPath(flag, io.env);
  return { file, config: loadConfigFile(file, io.env, needs) };
}
