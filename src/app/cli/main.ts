#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, formatProblem } from '../../core/config/problems.js';
import { configWarnings } from '../../core/config/warnings.js';
import { UnavailableError } from '../../core/errors/errors.js';
import { own } from '../../core/own-keys.js';
import { configFromFlag, EXIT, parseFlags, UsageError, type CliIo } from './io.js';

export { EXIT, UsageError, type CliIo };

const USAGE = `usage: claimgate <command> [options]

commands:
  start [--config FILE]                 run the gateway
  migrate [--config FILE]               apply pending database migrations
  check-config [--config FILE]          validate the configuration
  init --preset entra|okta|keycloak|auth0|google
                                        print a starter configuration for that provider
  inactive [--json]                     users the next deletion run would suspend for inactivity
  map --issuer ID (--token JWT | --claims FILE) [--as sso|bearer] [--user USERCODE] [--json]
                                        dry run of a login (link checks included); writes nothing
  tokens create --name NAME --scopes S1,S2 [--expires-in 90d] [--json]
                                        create an API credential (printed once)
  tokens list [--json]                  credentials with scopes, creation and last use
  tokens revoke NAME                    revoke at once, on every instance

The configuration comes from --config, else CLAIMGATE_CONFIG, else ./claimgate.yaml.`;

type Command = (args: string[], io: CliIo) => Promise<number>;

const commands: Record<string, Command> = {
  'check-config': checkConfig,
  start: async (args, io) => (await import('./start.js')).startCommand(args, io),
  migrate: async (args, io) => (await import('./migrate.js')).migrateCommand(args, io),
  map: async (args, io) => (await import('./map.js')).mapCommand(args, io),
  tokens: async (args, io) => (await import('./tokens.js')).tokensCommand(args, io),
  init: async (args, io) => (await import('./init.js')).initCommand(args, io),
  inactive: async (args, io) => (await import('./inactive.js')).inactiveCommand(args, io),
};

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? io.out : io.err)(USAGE);
    return name ? EXIT.ok : EXIT.problems;
  }
  const command = own(commands, name);
  if (!command) {
    io.err(`claimgate: unknown command "${name}"\n\n${USAGE}`);
    return EXIT.problems;
  }
  try {
    return await command(rest, io);
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const p of e.problems) io.err(formatProblem(p));
      return e.unreadable ? EXIT.unreadable : EXIT.problems;
    }
    if (e instanceof UsageError) {
      io.err(`claimgate ${name}: ${e.message}`);
      return EXIT.problems;
    }
    // The cause of an unreachable database (already stripped of URLs and passwords) says what to fix.
    const cause = e instanceof UnavailableError && e.cause instanceof Error ? ` (${e.cause.message})` : '';
    io.err(`claimgate ${name}: ${(e as Error)?.message ?? String(e)}${cause}`);
    return EXIT.problems;
  }
}

async function checkConfig(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(args, { config: { type: 'string', short: 'c' } });
  const { file, config } = configFromFlag(values.config as string | undefined, io);
  // A mapping saved through the admin API wins over the file's: an edit here would otherwise seem ignored.
  const stored = await (await import('./stored-mappings.js')).storedMappings(config);
  const inDb = stored.checked ? stored.versions : new Map<string, number>();
  if (!stored.checked) io.err(`note: stored mappings not checked: ${stored.why}`);
  for (const [name, version] of inDb) {
    if (Object.hasOwn(config.mappings, name)) {
      io.err(`warning: mappings.${name}: overridden by version ${version} saved through the admin API; this file's mapping is not in force`);
    }
  }
  // A mapping may live only in the database (saved through the admin API), so a missing one is not an error here;
  // but nobody can sign in through that issuer until it exists.
  config.issuers.forEach((iss, i) => {
    if (!(iss.mapping in config.mappings) && !inDb.has(iss.mapping)) {
      io.err(`warning: issuers[${i}].mapping: "${iss.mapping}" is not defined in this file (sign-ins through "${iss.id}" fail until it is saved through the admin API)`);
    }
  });
  for (const w of configWarnings(config)) io.err(w);
  io.err(`${file}: valid (${config.issuers.length} issuer(s), ${Object.keys(config.mappings).length} mapping(s))`);
  return EXIT.ok;
}

function isMain(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** Runs the command line of this process (also called by bin/claimgate.js, which picks dist/ or src/). */
export function main(): void {
  const io: CliIo = {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
    env: process.env,
  };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      // `start` keeps running; every other command ends here.
      if (code !== -1) process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`claimgate: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}

if (isMain()) main();
