import { configFromFlag, parseFlags, type CliIo } from './io.js';
import { createLogger } from '../../observability/logger.js';
import { runServer } from '../server.js';

/** `claimgate start [--config FILE]`: runs until SIGTERM/SIGINT. Returns -1 (keep running). */
export async function startCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(args, { config: { type: 'string', short: 'c' } });
  const { config } = configFromFlag(values.config as string | undefined, io);
  const logger = createLogger({ level: config.logs.level });
  await runServer(config, logger);
  return -1;
}
