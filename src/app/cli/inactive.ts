import { configFromFlag, parseFlags, type CliIo } from './io.js';
import { openDatabase } from '../../store/db/index.js';
import { inactivityStep } from '../../features/jobs/index.js';

/** `claimgate inactive`: who the next deletion run would suspend for inactivity. Writes nothing. */
export async function inactiveCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(args, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } });
  const { config } = configFromFlag(values.config as string | undefined, io);
  const db = await openDatabase(config.database);
  try {
    const step = inactivityStep({ config, db });
    if (!step) {
      io.err('jobs.inactivity is not configured: nobody is suspended for inactivity.');
      return 0;
    }
    const now = Date.now();
    const users = await step.preview(now);
    if (values.json) {
      io.out(JSON.stringify({ suspendAfterDays: step.settings.suspendAfterDays, cutoff: step.cutoff(now).toISOString(), items: users }, null, 2));
      return 0;
    }
    io.err(`${users.length} user(s) idle since before ${step.cutoff(now).toISOString().slice(0, 10)} (suspendAfterDays: ${step.settings.suspendAfterDays})`);
    for (const u of users) io.out(`${u.usercode}\t${u.userType}\t${u.lastActivityAt?.slice(0, 10) ?? `created ${u.createdAt.slice(0, 10)}`}`);
    return 0;
  } finally {
    await db.close();
  }
}
