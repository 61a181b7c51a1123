/**
 * Replacement templates of pattern rules (`to: "$1"`, `to: "bi-$<team>"`), with exactly the semantics of
 * ECMAScript's GetSubstitution (String.prototype.replace), except that the expansion is the whole output rather
 * than spliced into the input. The template is parsed once, when the mapping is compiled, against the pattern's
 * group count and names, which is all GetSubstitution needs to resolve `$nn`/`$n` ambiguity.
 */

export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'group'; index: number }
  | { kind: 'named'; name: string }
  | { kind: 'match' }
  | { kind: 'before' }
  | { kind: 'after' };

export interface CompiledTemplate {
  readonly parts: readonly TemplatePart[];
  /**
   * References that ECMAScript leaves as literal text or expands to "" (`$3` with one group, `$<nmae>`): legal, but
   * almost always a typo, so the compiler reports them.
   */
  readonly warnings: readonly string[];
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/**
 * Parses `template` for a regular expression with `groupCount` capturing groups and the given named groups
 * (`null` when it has none, which makes `$<` literal, as in ECMAScript).
 */
export function compileTemplate(template: string, groupCount: number, groupNames: readonly string[] | null): CompiledTemplate {
  const parts: TemplatePart[] = [];
  const warnings: string[] = [];
  let text = '';
  const flush = (): void => {
    if (text) parts.push({ kind: 'text', text });
    text = '';
  };
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    const next = template[i + 1];
    if (c !== '$' || next === undefined) {
      text += c;
      i += 1;
    } else if (next === '$') {
      text += '$';
      i += 2;
    } else if (next === '&' || next === '`' || next === "'") {
      flush();
      parts.push({ kind: next === '&' ? 'match' : next === '`' ? 'before' : 'after' });
      i += 2;
    } else if (isDigit(next)) {
      let digits = isDigit(template[i + 2]) ? template.slice(i + 1, i + 3) : next;
      let index = Number(digits);
      if (index > groupCount && digits.length === 2) {
        digits = next;
        index = Number(digits);
      }
      if (index >= 1 && index <= groupCount) {
        flush();
        parts.push({ kind: 'group', index });
      } else {
        text += `$${digits}`;
        warnings.push(
          index === 0 ? '$0 is not a group reference (use $& for the whole match)' : `$${digits}: the pattern has ${groupCount} group(s)`,
        );
      }
      i += 1 + digits.length;
    } else if (next === '<') {
      const close = groupNames === null ? -1 : template.indexOf('>', i + 2);
      if (close === -1) {
        text += '$<';
        warnings.push(groupNames === null ? '$< is literal: the pattern has no named groups' : '$< without a closing >');
        i += 2;
      } else {
        const name = template.slice(i + 2, close);
        if (!groupNames?.includes(name)) warnings.push(`$<${name}>: the pattern has no group named "${name}"`);
        flush();
        parts.push({ kind: 'named', name });
        i = close + 1;
      }
    } else {
      text += '$';
      i += 1;
    }
  }
  flush();
  return { parts, warnings };
}

/** Expands a compiled template for one match (from `RegExp.prototype.exec`). */
export function expandTemplate(template: CompiledTemplate, match: RegExpExecArray): string {
  const parts = template.parts;
  if (parts.length === 1 && parts[0]!.kind === 'text') return parts[0]!.text;
  let out = '';
  for (const part of parts) {
    switch (part.kind) {
      case 'text':
        out += part.text;
        break;
      case 'group':
        out += match[part.index] ?? '';
        break;
      case 'named':
        out += match.groups?.[part.name] ?? '';
        break;
      case 'match':
        out += match[0];
        break;
      case 'before':
        out += match.input.slice(0, match.index);
        break;
      case 'after':
        out += match.input.slice(match.index + match[0].length);
        break;
    }
  }
  return out;
}

/** Number of capturing groups and the named ones (`null` when none), read from the compiled RegExp itself. */
export function groupsOf(regex: RegExp): { count: number; names: string[] | null } {
  // An alternative that always matches the empty string makes exec report every group (all undefined).
  const probe = new RegExp(`(?:${regex.source})|`, regex.flags).exec('')!;
  return { count: probe.length - 1, names: probe.groups ? Object.keys(probe.groups) : null };
}
