import { PRESETS, type PresetName } from './idp-schema.js';

/**
 * What each provider preset supplies. A preset only fills what the issuer entry leaves out: anything written
 * explicitly (a key source, algorithms, acceptAzpAsAudience…) wins. Documented per provider in docs/providers/.
 */
export interface PresetDefaults {
  algorithms: string[];
  acceptAzpAsAudience: boolean;
  /**
   * How a claim a mapping reads but the token lacks is understood: `empty` (the provider leaves out empty lists,
   * as Okta does with `groups`), or `absent` (no statement either way).
   */
  absentClaims: 'empty' | 'absent';
}

const PRESET_DEFAULTS: Record<PresetName, PresetDefaults> = {
  entra: { algorithms: ['RS256'], acceptAzpAsAudience: false, absentClaims: 'absent' },
  okta: { algorithms: ['RS256'], acceptAzpAsAudience: false, absentClaims: 'empty' },
  keycloak: { algorithms: ['RS256'], acceptAzpAsAudience: true, absentClaims: 'absent' },
  auth0: { algorithms: ['RS256'], acceptAzpAsAudience: false, absentClaims: 'absent' },
  google: { algorithms: ['RS256'], acceptAzpAsAudience: false, absentClaims: 'absent' },
};

export function presetDefaults(preset: PresetName | undefined): PresetDefaults | undefined {
  return preset === undefined ? undefined : PRESET_DEFAULTS[preset];
}

const ENTRA_AUTHORITY = 'https://login.microsoftonline.com';

/** Entra's multi-tenant issuers have no discovery document of their own: the common key set serves them all. */
function entraKeySource(raw: Record<string, unknown>): Record<string, unknown> {
  const issuer = typeof raw.issuer === 'string' ? raw.issuer : '';
  const entra = isObject(raw.entra) ? raw.entra : {};
  const graph = isObject(entra.graph) ? entra.graph : {};
  const authority = (typeof graph.authorityUrl === 'string' ? graph.authorityUrl : ENTRA_AUTHORITY).replace(/\/+$/, '');
  const v1 = /^https:\/\/sts\.windows\.net\//.test(issuer);
  if (issuer.includes('{tenantid}') || v1) {
    return { jwksUri: `${authority}/common/discovery/${v1 ? '' : 'v2.0/'}keys` };
  }
  return { discovery: true };
}

/**
 * Fills an `issuers[]` entry from its preset before the schema reads it. Unknown presets are left for the
 * schema to report.
 */
export function applyIssuerPreset(raw: unknown): unknown {
  if (!isObject(raw) || typeof raw.preset !== 'string' || !(PRESETS as readonly string[]).includes(raw.preset)) return raw;
  const preset = raw.preset as PresetName;
  const d = PRESET_DEFAULTS[preset];
  const out: Record<string, unknown> = { ...raw };
  const hasKeySource = ['jwksUri', 'discovery', 'keys', 'sharedSecret'].some((k) => out[k] !== undefined);
  if (!hasKeySource) Object.assign(out, preset === 'entra' ? entraKeySource(out) : { discovery: true });
  if (out.algorithms === undefined) out.algorithms = [...d.algorithms];
  if (out.acceptAzpAsAudience === undefined) out.acceptAzpAsAudience = d.acceptAzpAsAudience;
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** How the mapping reads a claim this issuer's tokens lack (see core/mapping/absence.ts). */
export function evaluateOptionsFor(issuer: { preset?: PresetName } | undefined): { absentClaims?: 'empty' | 'absent'; provider?: string } {
  if (issuer?.preset === undefined) return {};
  return { absentClaims: PRESET_DEFAULTS[issuer.preset].absentClaims, provider: issuer.preset };
}
