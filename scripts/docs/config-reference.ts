import { z } from 'zod';
import { configSchema } from '../../src/core/config/schema.js';

/**
 * The reference part of docs/configuration.md, built from the zod schema: one table per top-level key with every
 * key's path, type, default and description. Walking the JSON Schema form keeps this independent of zod internals;
 * a key added later appears on the next run, with an empty description until it gets a `.describe()`.
 */
type Json = Record<string, any>;

interface Row {
  key: string;
  type: string;
  def: string;
  description: string;
}

/** Keys whose values are documented on a page of their own, not expanded here. */
const DOCUMENTED_ELSEWHERE: Record<string, string> = {
  mappings: '[mapping language](mapping-language.md)',
};

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function code(v: string): string {
  return `\`${v}\``;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function typeOf(s: Json): string {
  if (s.enum) return s.enum.map((v: unknown) => code(String(v))).join(' | ');
  if (s.const !== undefined) return code(JSON.stringify(s.const));
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeOf).join(' or ');
  if (Array.isArray(s.type)) return s.type.join(' or ');
  switch (s.type) {
    case 'string':
      return s.format === 'uri' ? 'URL' : 'string';
    case 'integer':
    case 'number': {
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : undefined);
      const max = s.maximum;
      const lo = min !== undefined && min > -MAX_SAFE ? min : undefined;
      const hi = max !== undefined && max < MAX_SAFE ? max : undefined;
      const name = s.type === 'integer' ? 'integer' : 'number';
      if (lo !== undefined && hi !== undefined) return `${name} ${lo}–${hi}`;
      if (lo !== undefined) return `${name} ≥ ${lo}`;
      if (hi !== undefined) return `${name} ≤ ${hi}`;
      return name;
    }
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return s.items ? `list of ${typeOf(s.items)}` : 'list';
    case 'object':
      if (s.properties) return 'object';
      if (s.additionalProperties && typeof s.additionalProperties === 'object' && Object.keys(s.additionalProperties).length) {
        return `map of name → ${typeOf(s.additionalProperties)}`;
      }
      return 'object';
    default:
      return 'any';
  }
}

/** Defaults are read from the output form: zod leaves some of them out of the input form. */
function defaultOf(s: Json, out: Json | undefined, required: boolean): string {
  const def = s.default ?? out?.default;
  if (def !== undefined) {
    const isSection = s.type === 'object' && s.properties && JSON.stringify(def) === '{}';
    return isSection ? '' : code(JSON.stringify(def));
  }
  return required ? 'required' : '—';
}

function walk(s: Json, out: Json | undefined, key: string, required: boolean, rows: Row[]): void {
  const elsewhere = DOCUMENTED_ELSEWHERE[key];
  const description = [s.description ?? '', elsewhere ? `See the ${elsewhere}.` : ''].filter(Boolean).join(' ');
  rows.push({ key, type: typeOf(s), def: defaultOf(s, out, required), description });
  if (elsewhere) return;
  if (s.type === 'object' && s.properties) {
    for (const [name, child] of Object.entries<Json>(s.properties)) {
      walk(child, out?.properties?.[name], `${key}.${name}`, (s.required ?? []).includes(name), rows);
    }
  } else if (s.type === 'array' && s.items?.type === 'object' && s.items.properties) {
    for (const [name, child] of Object.entries<Json>(s.items.properties)) {
      walk(child, out?.items?.properties?.[name], `${key}[].${name}`, (s.items.required ?? []).includes(name), rows);
    }
  }
}

function table(rows: Row[]): string {
  const lines = ['| key | type | default | description |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${code(r.key)} | ${cell(r.type)} | ${cell(r.def)} | ${cell(r.description)} |`);
  return lines.join('\n');
}

export function renderConfigReference(schema: z.ZodType = configSchema): string {
  const root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  const output = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Json;
  const required: string[] = root.required ?? [];
  const topLevel: Row[] = [];
  const sections: string[] = [];
  for (const [name, s] of Object.entries<Json>(root.properties ?? {})) {
    const rows: Row[] = [];
    walk(s, output.properties?.[name], name, required.includes(name), rows);
    const isSection = (s.type === 'object' && s.properties) || (s.type === 'array' && s.items?.properties);
    if (isSection) sections.push(`### ${code(name)}\n\n${table(rows)}`);
    else topLevel.push(...rows);
  }
  return [`### Top level\n\n${table(topLevel)}`, ...sections].join('\n\n');
}
