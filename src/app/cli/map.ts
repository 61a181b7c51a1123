import { evaluateOptionsFor } from '../../core/config/presets.js';
import { resolveGroupLabels } from '../../core/idp/group-labels.js';
import { egressFetch } from '../../core/idp/egress.js';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { configFromFlag, EXIT, parseFlags, UsageError, type CliIo } from './io.js';
import type { Config, IssuerConfig } from '../../core/config/schema.js';
import { openDatabase } from '../../store/db/index.js';
import { GatewayError, TokenError } from '../../core/errors/errors.js';
import { JtiStore } from '../../store/jti.js';
import { describeRefusal } from '../../observability/refusal-log.js';
import { MappingRegistry, type ActiveMapping } from '../../core/login/mapping-registry.js';
import { evaluateMapping, type Claims } from '../../core/mapping/index.js';
import { TrustMap } from '../../core/tokens/index.js';
import { UserStore, userToJson, type UserRecord } from '../../store/users/index.js';
import { diffLogin, producedBy } from '../../store/users/preview.js';
import { renderMapReport, type LinkCheck, type MapReport } from './map-report.js';

export type { LinkCheck, MapReport };

/**
 * `claimgate map --issuer ID (--token JWT | --claims FILE) [--user USERCODE] [--json]`: what a login would do.
 * Verifies the token (or takes the claims as given), runs the issuer's mapping and compares the result with the
 * stored user. Writes nothing: no jti is consumed, no user or audit row is written, no migration runs.
 * Exit 0 allowed, 3 denied by the mapping, 2 token refused.
 */
export async function mapCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(args, {
    config: { type: 'string', short: 'c' },
    issuer: { type: 'string' },
    token: { type: 'string' },
    claims: { type: 'string' },
    user: { type: 'string' },
    json: { type: 'boolean' },
    as: { type: 'string' },
  });
  if (!values.issuer) throw new UsageError('--issuer ID is required');
  if (values.as !== undefined && values.as !== 'sso' && values.as !== 'bearer') throw new UsageError('--as must be sso or bearer');
  if ((values.token === undefined) === (values.claims === undefined)) {
    throw new UsageError('give exactly one of --token JWT or --claims FILE');
  }
  const { config } = configFromFlag(values.config as string | undefined, io, ['database', 'issuers', 'mappings', 'publicUrl', 'limits', 'basePath']);
  const issuer = config.issuers.find((i) => i.id === values.issuer);
  if (!issuer) {
    const known = config.issuers.map((i) => i.id).join(', ') || 'none configured';
    throw new UsageError(`unknown issuer "${values.issuer}" (known: ${known})`);
  }

  // As /sso would see it unless told otherwise: that is where "it works in map but not in the browser" comes from.
  const as: 'sso' | 'bearer' = (values.as as 'sso' | 'bearer' | undefined) ?? (issuer.ssoLink.enabled ? 'sso' : 'bearer');
  const lookup = await openStore(config);
  try {
    let claims: Claims;
    const checks: LinkCheck[] = [];
    if (values.token !== undefined) {
      try {
        const trustMap = new TrustMap(config.issuers, { publicUrl: config.publicUrl, maxTokenBytes: config.limits.tokenBytes });
        claims = (await trustMap.verify(String(values.token), { issuerId: issuer.id, purpose: as })).claims as Claims;
        checks.push({ check: 'signature', result: 'passed' });
        if (as === 'sso') checks.push({ check: 'link_age', result: 'passed', detail: `at most ${linkAge(issuer)} s old` });
        checks.push(...(await linkChecks(issuer, claims, as, lookup)));
        const failed = checks.find((c) => c.result === 'failed');
        if (failed) throw new TokenError(failed.code!, failed.detail!);
      } catch (e) {
        if (e instanceof GatewayError) {
          const why = describeRefusal(e);
          io.err(`token refused${as === 'sso' ? ' as a sign-in link' : ''}: ${e.code}: ${e.publicMessage}${why ? ` (${why})` : ''}`);
          if (values.json) io.out(JSON.stringify({ refused: { code: e.code, message: e.publicMessage, ...(why ? { detail: why } : {}) }, linkChecks: { as, checks } }));
          return EXIT.unreadable;
        }
        throw e;
      }
    } else {
      claims = readClaimsFile(String(values.claims));
      for (const check of ['signature', 'link_age', 'sso_link_enabled', 'jti_unused'] as const) {
        checks.push({ check, result: 'skipped', detail: 'claims were given, not a token' });
      }
    }

    const { report, store } = await buildReport(config, issuer, claims, values.user as string | undefined, lookup);
    report.linkChecks = { as, checks };
    if (store) io.err(`note: ${store}`);
    if (values.json) io.out(JSON.stringify(report, null, 2));
    else io.out(renderMapReport(report));
    return report.allowed ? EXIT.ok : EXIT.denied;
  } finally {
    await lookup.close();
  }
}

function linkAge(issuer: IssuerConfig): number {
  return Math.min(issuer.maxTokenAgeSeconds ?? Infinity, issuer.ssoLink.maxTokenAgeSeconds);
}

/** What LoginService checks beyond the token for a link or a bearer token; the jti is looked up, never consumed. */
async function linkChecks(issuer: IssuerConfig, claims: Claims, as: 'sso' | 'bearer', lookup: StoreLookup): Promise<LinkCheck[]> {
  const out: LinkCheck[] = [];
  const jti = typeof claims.jti === 'string' && claims.jti !== '' ? claims.jti : null;
  if (as === 'sso') {
    if (!issuer.ssoLink.enabled) {
      return [{ check: 'sso_link_enabled', result: 'failed', code: 'sso_link_disabled', detail: `ssoLink.enabled is false for issuer "${issuer.id}"` }];
    }
    out.push({ check: 'sso_link_enabled', result: 'passed' });
    if (!jti) {
      if (issuer.ssoLink.requireJti) return [...out, { check: 'jti_present', result: 'failed', code: 'jti_missing', detail: 'The sign-in link has no jti (ssoLink.requireJti is true).' }];
      out.push({ check: 'jti_present', result: 'skipped', detail: 'no jti, and ssoLink.requireJti is false' });
      return out;
    }
    out.push({ check: 'jti_present', result: 'passed' });
  }
  if (!jti || (as === 'bearer' && !issuer.ssoLink.enabled)) return out;
  if (!lookup.jtis) {
    out.push({ check: 'jti_unused', result: 'skipped', detail: lookup.note ?? 'no database' });
    return out;
  }
  try {
    const used = await lookup.jtis.isUsed(issuer.id, jti);
    out.push(
      used
        ? { check: 'jti_unused', result: 'failed', code: 'jti_replayed', detail: 'This jti was already used as a sign-in link.' }
        : { check: 'jti_unused', result: 'passed', detail: 'looked up, not consumed' },
    );
  } catch (e) {
    out.push({ check: 'jti_unused', result: 'skipped', detail: `used sign-in links not readable (${(e as Error).message})` });
  }
  return out;
}

/** Reads a claims file: JSON or YAML holding one object. */
function readClaimsFile(file: string): Claims {
  let text: string;
  try {
    text = readFileSync(resolve(file), 'utf8');
  } catch (e) {
    throw new UsageError(`--claims ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot be read'}`);
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(text);
  } catch (e) {
    throw new UsageError(`--claims ${file}: not JSON or YAML (${(e as Error).message.split('\n')[0]})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--claims ${file}: must hold one JSON object of claims`);
  }
  return parsed as Claims;
}

async function buildReport(
  config: Config,
  issuer: IssuerConfig,
  claims: Claims,
  usercodeFlag: string | undefined,
  lookup: StoreLookup,
): Promise<{ report: MapReport; store?: string }> {
  {
    const registry = new MappingRegistry(config.mappings);
    const mapping: ActiveMapping | undefined = registry.get(issuer.mapping);
    if (!mapping) throw new UsageError(`issuer "${issuer.id}" names mapping "${issuer.mapping}", which does not exist`);
    const outcome = evaluateMapping(mapping.compiled, claims, evaluateOptionsFor(issuer));
    const labels = await resolveGroupLabels(mapping.compiled, claims, issuer, egressFetch(config.egress));
    const base = {
      ...(Object.keys(labels).length > 0 ? { groupLabels: labels } : {}),
      linkChecks: { as: 'sso' as const, checks: [] },
      issuer: { id: issuer.id, issuer: issuer.issuer },
      mapping: { name: mapping.name, version: mapping.version, source: mapping.source },
      trace: outcome.trace,
    };
    if (!outcome.allowed) {
      const report: MapReport = {
        ...base,
        allowed: false,
        denied: { code: outcome.code, rule: outcome.rule, message: outcome.message },
        current: null,
      };
      return { report, store: lookup.note };
    }
    const usercode = usercodeFlag ?? outcome.user.usercode;
    let current: UserRecord | null = null;
    let note = lookup.note;
    if (lookup.users) {
      try {
        current = await lookup.users.getByUsercode(usercode);
      } catch (e) {
        note = `stored user not read (${(e as Error).message}); compared against no user`;
      }
    }
    const source = `mapping:${issuer.id}`;
    const { sync: _sync, ...desired } = outcome.user;
    const report: MapReport = {
      ...base,
      allowed: true,
      desired,
      current: current ? userToJson(current) : null,
      diff: diffLogin(current, outcome.user, source),
      producedBy: { roles: producedBy(outcome.trace, 'roles'), permissions: producedBy(outcome.trace, 'permissions') },
    };
    if (note) report.storeNote = note;
    return { report, store: note };
  }
}

interface StoreLookup {
  users?: UserStore;
  jtis?: JtiStore;
  note?: string;
  close: () => Promise<void>;
}

/**
 * Opens the database read-only in spirit: no migration, and an embedded data directory that does not exist yet
 * is not created (there is no stored user to compare against).
 */
async function openStore(config: Config): Promise<StoreLookup> {
  if (!config.database.url && !existsSync(resolve(config.database.dataDir))) {
    return { note: `no embedded database at ${config.database.dataDir}; compared against no stored user`, close: async () => undefined };
  }
  try {
    const db = await openDatabase({ ...config.database, connectionTimeoutMs: Math.min(config.database.connectionTimeoutMs, 5000) });
    return { users: new UserStore(db), jtis: new JtiStore(db.knex), close: () => db.close() };
  } catch (e) {
    return { note: `database not reachable (${(e as Error).message}); compared against no stored user`, close: async () => undefined };
  }
}
