import type { MappingOutcome } from '../../core/mapping/index.js';
import type { NameDiff, UserDiff } from '../../store/users/preview.js';

/** What `claimgate map` found, as printed with `--json`. */
export interface MapReport {
  issuer: { id: string; issuer: string };
  mapping: { name: string; version: number | null; source: 'file' | 'database' };
  allowed: boolean;
  denied?: { code: string; rule: string; message: string };
  desired?: Omit<Extract<MappingOutcome, { allowed: true }>['user'], 'sync'>;
  /** The stored user compared against, or null when the login would create one. */
  current: Record<string, unknown> | null;
  diff?: UserDiff;
  producedBy?: { roles: Record<string, string[]>; permissions: Record<string, string[]> };
  trace: MappingOutcome['trace'];
  /** Why the stored user could not be read (the dry run still ran). */
  storeNote?: string;
  /** Display names of the group ids in the mapping and the claims (mapping groupLabels, or Microsoft Graph). */
  groupLabels?: Record<string, string>;
  /** The checks `/sso` (or a bearer request) makes beyond the token and the mapping, run without consuming the jti. */
  linkChecks: { as: 'sso' | 'bearer'; checks: LinkCheck[] };
}

/** One check of a sign-in link: `skipped` says why it could not be run here. */
export interface LinkCheck {
  check: 'signature' | 'link_age' | 'sso_link_enabled' | 'jti_present' | 'jti_unused';
  result: 'passed' | 'failed' | 'skipped';
  code?: string;
  detail?: string;
}

const show = (v: unknown): string =>
  v === null || v === undefined ? '(none)' : Array.isArray(v) ? (v.length ? v.join(', ') : '(none)') : String(v);

/** The human form of `claimgate map`: what the platform team reads first, so it leads with the verdict. */
export function renderMapReport(r: MapReport): string {
  const lines: string[] = [];
  const version = r.mapping.version === null ? 'configuration file' : `version ${r.mapping.version}, database`;
  lines.push(`issuer:  ${r.issuer.id} (${r.issuer.issuer})`);
  lines.push(`mapping: ${r.mapping.name} (${version})`);
  if (!r.allowed) {
    lines.push(`result:  DENIED by ${r.denied!.rule} (${r.denied!.code}): ${r.denied!.message}`);
  } else {
    const d = r.diff!;
    const verdict = d.create ? 'would CREATE the user' : d.unchanged ? 'the stored user is UNCHANGED' : 'would UPDATE the stored user';
    lines.push(`result:  allowed; ${verdict} "${r.desired!.usercode}"`);
    lines.push('', 'profile:');
    const fields = Object.entries(r.desired!.profile);
    if (fields.length === 0) lines.push('  (no profile fields mapped)');
    for (const [field, value] of fields) {
      const change = d.profile[field as keyof typeof d.profile];
      const note = change ? (d.create ? '' : `   (was: ${show(change.before)})`) : d.create ? '' : '   (unchanged or not synced)';
      lines.push(`  ${field.padEnd(18)} ${show(value)}${note}`);
    }
    lines.push(...names('roles', d.roles, r.producedBy!.roles));
    lines.push(...names('permissions', d.permissions, r.producedBy!.permissions));
    lines.push('', 'attributes:');
    const attrs = Object.entries(r.desired!.attributes);
    if (attrs.length === 0) lines.push('  (none mapped)');
    for (const [name, values] of attrs) {
      const change = d.attributes[name];
      lines.push(`  ${name.padEnd(18)} ${show(values)}${change && !d.create ? `   (was: ${show(change.before)})` : ''}`);
    }
  }
  const labels = Object.entries(r.groupLabels ?? {});
  if (labels.length > 0) {
    lines.push('', 'group labels:');
    for (const [id, label] of labels) lines.push(`  ${id}  ${label}`);
  }
  lines.push('', `link checks (as ${r.linkChecks.as === 'sso' ? 'a sign-in link at /sso; --as bearer for a bearer token' : 'a bearer token; --as sso for a sign-in link'}):`);
  if (r.linkChecks.checks.length === 0) lines.push('  (none apply)');
  for (const c of r.linkChecks.checks) lines.push(`  ${c.check.padEnd(18)} ${c.result}${c.detail ? ` - ${c.detail}` : ''}`);
  lines.push('', 'trace:');
  for (const e of r.trace) {
    const values = e.values === undefined ? '' : ` ${JSON.stringify(e.values)}`;
    lines.push(`  ${e.path.padEnd(24)} ${e.outcome}${values}${e.detail ? ` - ${e.detail}` : ''}`);
  }
  return lines.join('\n');
}

function names(kind: string, d: NameDiff, by: Record<string, string[]>): string[] {
  const out = ['', `${kind}:`];
  const rule = (n: string) => (by[n] ? `   <- ${by[n].join(', ')}` : '');
  for (const n of d.added) out.push(`  + ${n.padEnd(16)}${rule(n)}`);
  for (const n of d.kept) out.push(`    ${n.padEnd(16)}${rule(n)}`);
  for (const n of d.removed) out.push(`  - ${n.padEnd(16)}   (no longer produced by the mapping)`);
  for (const g of d.otherSources) out.push(`    ${g.name.padEnd(16)}   (from ${g.source}; a login leaves it)`);
  if (out.length === 2) out.push('  (none)');
  return out;
}
