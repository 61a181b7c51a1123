import { configFromFlag, parseFlags, type CliIo } from './io.js';
import { openDatabase } from '../../store/db/index.js';

/** `claimgate migrate`: applies pending migrations and exits. */
export async function migrateCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(args, { config: { type: 'string', short: 'c' } });
  const { config } = configFromFlag(values.config as string | undefined, io, ['database']);
  const db = await openDatabase(config.database);
  try {
    await db.migrate();
    io.err(`migrations applied (${db.kind})`);
  } finally {
    await db.close();
  }
  return 0;
}
