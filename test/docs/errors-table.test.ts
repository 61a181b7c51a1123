import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ROOT } from '../../scripts/generate-docs.js';
import { ERROR_TABLE, errorEntry, statusesOf, type ErrorEntry } from '../../src/core/errors/table.js';
import { GatewayError, TokenError } from '../../src/core/errors/errors.js';
import { titleFor } from '../../src/web/problem.js';

/**
 * Errors are built with a code of the table and a public message; the status comes from the table. A few codes are
 * answered with another status in one place, which passes `status` where it builds the error: found here by reading
 * the source, and allowed only outside src/core (the rules never speak HTTP) and only with a status the table lists.
 */
interface Site {
  file: string;
  code: string | undefined;
  /** The `status` option passed, as written (a literal or an expression); undefined when none. */
  status: string | undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The text of a call from its opening parenthesis to the matching one, skipping over string literals. */
function callText(text: string, open: number): string {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return text.slice(open, i + 1);
  }
  return text.slice(open);
}

/** Every construction of a gateway error (and every `super(...)` of a subclass), with the status it passes. */
export function errorSites(text: string, file: string): Site[] {
  const sites: Site[] = [];
  const re = /(?:new (?:GatewayError|TokenError|UnavailableError|ScimError|EventPushError)|super)\(/g;
  for (const m of text.matchAll(re)) {
    const call = callText(text, m.index + m[0].length - 1);
    const code = /^\(\s*'([A-Za-z0-9_]+)'/.exec(call)?.[1];
    const status = /[{,]\s*status(?::\s*([^,}\n]+?))?\s*[,}]/.exec(call);
    sites.push({ file, code, status: status ? (status[1] ?? 'status').trim() : undefined });
  }
  return sites;
}

const files = sourceFiles(join(ROOT, 'src')).map((f) => ({ file: relative(ROOT, f).split(sep).join('/'), text: readFileSync(f, 'utf8') }));
const sites = files.flatMap((f) => errorSites(f.text, f.file));
const entries = Object.entries(ERROR_TABLE) as [string, ErrorEntry][];

describe('the error table (src/core/errors/table.ts, rendered as docs/errors.md)', () => {
  it('finds the construction sites it checks', () => {
    expect(sites.filter((s) => s.code !== undefined).length).toBeGreaterThan(90);
    expect(errorSites("throw new GatewayError('issuer_unknown', `x (${a})`, {\n  status: 404,\n});", 'f')).toEqual([
      { file: 'f', code: 'issuer_unknown', status: '404' },
    ]);
    expect(errorSites("new GatewayError('bad_request', 'x', { cause: err, status })", 'f')[0]!.status).toBe('status');
    expect(errorSites("new GatewayError(\n  'oidc_state_mismatch',\n  'x (status: 400)')", 'f')[0]).toEqual({ file: 'f', code: 'oidc_state_mismatch', status: undefined });
  });

  it('accepts only the codes of the table (a type error otherwise)', () => {
    // @ts-expect-error: not a code of the table
    expect(new GatewayError('not_a_code', 'x').code).toBe('not_a_code');
    // @ts-expect-error: an error carries no status of its own; the table has it
    expect(new TokenError('token_expired', 'x', { status: 401 }).status).toBe(401);
    expect(new GatewayError('jwks_unavailable', 'x').status).toBe(503);
    expect(new GatewayError('issuer_unknown', 'x', { status: 404 }).status).toBe(404);
  });

  it('no error built under src/core passes a status: the status of a rule comes from the table', () => {
    const inCore = sites.filter((s) => s.file.startsWith('src/core/') && s.status !== undefined);
    expect(inCore).toEqual([]);
  });

  it('a status passed elsewhere is one the table lists for the code', () => {
    const wrong = sites
      .filter((s) => s.status !== undefined && s.code !== undefined)
      .filter((s) => !/^\d{3}$/.test(s.status!) || !statusesOf(errorEntry(s.code!)!).includes(Number(s.status)))
      .map((s) => `${s.code} with status ${s.status} in ${s.file}`);
    // Two pass on a status they do not know in advance: body-parser's own 4xx, and the gateway's answer to the CLI.
    expect(wrong.sort()).toEqual([
      'bad_request with status status in src/web/problem.ts',
      'local_admin_refused with status res.statusCode ?? 500 in src/features/admin/local-socket.ts',
    ]);
  });

  it('every code answered as 401 has its WWW-Authenticate challenge', () => {
    expect(entries.filter(([, e]) => statusesOf(e).includes(401) && !e.wwwAuthenticate).map(([code]) => code)).toEqual([]);
    expect(ERROR_TABLE.unauthenticated.wwwAuthenticate).toBe('Bearer');
    expect(ERROR_TABLE.token_expired.wwwAuthenticate).toBe('Bearer error="invalid_token"');
  });

  it("a code's title is the title its status has always had, and a 5xx is logged as an error", () => {
    expect(entries.filter(([, e]) => e.title !== titleFor(e.status)).map(([code, e]) => `${code}: ${e.title}`)).toEqual([]);
    expect(entries.filter(([, e]) => e.status >= 500 && e.log !== 'error').map(([code]) => code)).toEqual([]);
  });

  it('lists no code that nothing raises any more', () => {
    const raised = new Set(sites.map((s) => s.code));
    const source = files
      .filter((f) => f.file !== 'src/core/errors/table.ts')
      .map((f) => f.text)
      .join('\n');
    const stale = Object.keys(ERROR_TABLE).filter((code) => !raised.has(code) && !source.includes(`'${code}'`));
    expect(stale).toEqual([]);
  });

  it('every code is on docs/errors.md with its status and title', () => {
    const page = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    expect(entries.filter(([code, e]) => !page.includes(`| \`${code}\` | ${e.status}`) || !page.includes(`| ${e.title} |`)).map(([code]) => code)).toEqual([]);
  });
});
