/* eslint-disable no-control-regex -- matching control characters is this file's whole job */
import { GatewayError } from '../errors/errors.js';
import type { ProfileField } from '../mapping/schema.js';
import { dict } from '../own-keys.js';

/**
 * The one rule for text that reaches a user record (and from there identity headers, the signed assertion and
 * the app): whichever writer brings it — a sign-in's claims, SCIM, the sync API, events or the admin API.
 *
 * - NUL is refused everywhere: no database column or JSON document can hold it, and no honest source sends it.
 * - Identifiers (usercode, e-mail, the idp* references, user type, tags, role, permission and attribute names)
 *   are refused when they hold any control character: silently changing an identifier could merge two people
 *   or grant a role under a name nobody wrote.
 * - Display texts (displayName, firstName, lastName, attribute values) are cleaned: line breaks and tabs become
 *   one space, other control characters are dropped. A name copied with a stray newline still signs in, and the
 *   value can never split a header.
 */

/** C0 and C1 controls, DEL, and the Unicode line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const NUL = /\u0000/;
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]+/g;
const OTHER_CONTROLS = /[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]/g;

/** Profile fields shown to people rather than matched on: cleaned, not refused. */
const DISPLAY_FIELDS: ReadonlySet<ProfileField> = new Set<ProfileField>(['displayName', 'firstName', 'lastName']);

export const hasControlCharacter = (s: string): boolean => CONTROL.test(s);

/** For messages that name a field: control characters shown as `?`. */
export const maskControlCharacters = (s: string): string => s.replace(new RegExp(CONTROL.source, 'g'), '?');

/** A display text with its line breaks turned into spaces and other control characters removed. */
export const cleanDisplayText = (s: string): string => s.replace(BREAKS, ' ').replace(OTHER_CONTROLS, '');

export interface TextProblem {
  /** Where, e.g. `usercode`, `displayName`, `roles[2]`, `attributes.region`. */
  field: string;
  message: string;
}

/** Text that breaks the rule above. `code` is `claim_invalid` for a sign-in, `text_invalid` for the APIs. */
export class TextRefused extends GatewayError {
  constructor(
    readonly problems: TextProblem[],
    code: 'claim_invalid' | 'text_invalid' = 'text_invalid',
  ) {
    super(code, 400, `${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}.`, { extra: { problems } });
    this.name = 'TextRefused';
  }
}

const NUL_MESSAGE = 'contains a NUL character';
const CONTROL_MESSAGE = 'contains a control character (line break, tab, NUL…)';

/** An identifier as given, or a problem. */
function identifier(field: string, value: string, problems: TextProblem[]): string {
  if (CONTROL.test(value)) problems.push({ field, message: NUL.test(value) ? NUL_MESSAGE : CONTROL_MESSAGE });
  return value;
}

/** A display text cleaned, or a problem when it holds NUL. */
function display(field: string, value: string, problems: TextProblem[]): string {
  if (NUL.test(value)) {
    problems.push({ field, message: NUL_MESSAGE });
    return value;
  }
  return CONTROL.test(value) ? cleanDisplayText(value) : value;
}

type ProfileInput = string | string[] | null | undefined;

/** The parts of a user that carry text; every part is optional (writers send what they change). */
export interface UserTexts<P extends ProfileInput = ProfileInput> {
  usercode?: string;
  profile?: Partial<Record<ProfileField, P>>;
  roles?: string[];
  permissions?: string[];
  attributes?: Record<string, string[]>;
}

/**
 * Applies the rule to every text of a user: the same shape back with display texts cleaned, or the list of
 * problems (nothing may be written then).
 */
export function applyTextRule<P extends ProfileInput, T extends UserTexts<P>>(input: T): { ok: true; value: T } | { ok: false; problems: TextProblem[] } {
  const problems: TextProblem[] = [];
  const out: T = { ...input };
  if (input.usercode !== undefined) out.usercode = identifier('usercode', input.usercode, problems);
  if (input.profile) {
    const profile: Partial<Record<ProfileField, ProfileInput>> = {};
    for (const [f, v] of Object.entries(input.profile) as [ProfileField, ProfileInput][]) {
      const one = (s: string, at: string) => (DISPLAY_FIELDS.has(f) ? display(at, s, problems) : identifier(at, s, problems));
      profile[f] = typeof v === 'string' ? one(v, f) : Array.isArray(v) ? v.map((s, i) => (typeof s === 'string' ? one(s, `${f}[${i}]`) : s)) : v;
    }
    out.profile = profile as T['profile'];
  }
  for (const kind of ['roles', 'permissions'] as const) {
    const names = input[kind];
    if (names) out[kind] = names.map((n, i) => identifier(`${kind}[${i}]`, n, problems));
  }
  if (input.attributes) {
    const attributes = dict<string[]>();
    for (const [name, values] of Object.entries(input.attributes)) {
      identifier(`attributes.${maskControlCharacters(name)}`, name, problems);
      attributes[name] = values.map((v, i) => display(`attributes.${maskControlCharacters(name)}[${i}]`, v, problems));
    }
    out.attributes = attributes;
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: out };
}

/** Like {@link applyTextRule}, throwing {@link TextRefused} instead of answering problems. */
export function enforceTextRule<P extends ProfileInput, T extends UserTexts<P>>(input: T, code?: 'claim_invalid' | 'text_invalid'): T {
  const r = applyTextRule<P, T>(input);
  if (!r.ok) throw new TextRefused(r.problems, code);
  return r.value;
}

/**
 * A JSON value that a jsonb column accepts: NUL in strings and keys becomes U+FFFD. For records kept for
 * reference (claims seen at a sign-in, audit details), where refusing would lose the record of a refusal.
 */
export function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('\u0000') ? value.replace(/\u0000/g, '\ufffd') : value;
  if (Array.isArray(value)) return value.map(storableJson);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/\u0000/g, '\ufffd'), storableJson(v)]));
  }
  return value;
}

/** True when a string or key anywhere in a JSON value holds NUL. */
export function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value && typeof value === 'object') return Object.entries(value).some(([k, v]) => k.includes('\u0000') || containsNul(v));
  return false;
}
