import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { ROOT } from '../../scripts/generate-docs.js';

/**
 * Comments point readers at files: `core/sessions/authenticator.ts`, `src/web/problem.ts`,
 * `docs/operations.md#rate-limits`. A file that moved leaves such a pointer dangling, and a pointer to a document
 * outside the repository cannot be followed at all. This scans the comments of src/, test/, scripts/ and bench/.
 */

const SCANNED = ['src', 'test', 'scripts', 'bench'];
const EXTENSIONS = /\.(ts|js|mjs|cjs|tsx)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'results') return [];
    return statSync(path).isDirectory() ? sourceFiles(path) : EXTENSIONS.test(name) ? [path] : [];
  });
}

/** Every comment of a source file, with its line (found by parsing, so strings and regexps are not taken for one). */
export function commentsOf(text: string, fileName = 'x.ts'): { line: number; text: string }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const seen = new Map<number, { line: number; text: string }>();
  const collect = (ranges: ts.CommentRange[] | undefined) => {
    for (const r of ranges ?? []) {
      if (!seen.has(r.pos)) seen.set(r.pos, { line: source.getLineAndCharacterOfPosition(r.pos).line + 1, text: text.slice(r.pos, r.end) });
    }
  };
  const visit = (node: ts.Node) => {
    collect(ts.getLeadingCommentRanges(text, node.getFullStart()));
    collect(ts.getTrailingCommentRanges(text, node.getEnd()));
    node.forEachChild(visit);
  };
  visit(source);
  collect(ts.getLeadingCommentRanges(text, source.endOfFileToken.getFullStart()));
  return [...seen.values()].sort((x, y) => x.line - y.line);
}

/** The paths a comment names: rooted (`src/…`, `docs/….md`) or relative-looking (`core/tokens/bearer.ts`). */
export function referencesIn(comment: string): string[] {
  const found = new Set<string>();
  const outsideUrl = (index: number) => /[a-z]+:\/\/\S*$/i.test(comment.slice(Math.max(0, index - 200), index));
  // core/tokens/bearer.ts, ../../scripts/generate-docs.ts, docs/operations.md#rate-limits (anchors are links.test.ts's business).
  const files = /(?<![\w@.:/*-])((?:\.{1,2}\/)*[A-Za-z_][\w.-]*(?:\/[\w.-]+)+?\.(?:ts|js|mjs|cjs|md|json|ya?ml|sql|css))(?=#[\w-]+|[^\w/*{-]|$)/g;
  for (const m of comment.matchAll(files)) if (!outsideUrl(m.index)) found.add(m[1]!);
  // A rooted folder: `src/web/`, `docs/providers`.
  const folders = /(?<![\w@.:/*-])((?:src|test|scripts|bench|docs|migrations|deploy|demo)(?:\/[\w-]+)+)\/?(?=[^\w./*{-]|\.(?!\w)|$)/g;
  for (const m of comment.matchAll(folders)) if (!outsideUrl(m.index)) found.add(m[1]!);
  return [...found];
}

/**
 * A source file named without a folder (`request-log.ts`): a file of that name must exist (under src/ when the
 * comment is in src/).
 */
export function bareNamesIn(comment: string): string[] {
  const names = /(?<![\w@.:/*-])([A-Za-z_][\w-]*\.ts)(?=[^\w/*{-]|$)/g;
  return [...comment.matchAll(names)].filter((m) => !/[a-z]+:\/\/\S*$/i.test(comment.slice(Math.max(0, m.index - 200), m.index))).map((m) => m[1]!);
}

function allNames(dir: string, out = new Set<string>()): Set<string> {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.') || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) allNames(path, out);
    else out.add(name);
  }
  return out;
}

/** Where a reference may point: from the repository root, from src/, or from the commenting file's folder. */
function resolves(ref: string, file: string): boolean {
  const bases = [ROOT, join(ROOT, 'src'), dirname(file)];
  const candidates = [ref, ref.replace(/\.js$/, '.ts')];
  return bases.some((b) => candidates.some((c) => existsSync(join(b, c))));
}

/** Documents outside the repository that a comment must not cite. */
const OUTSIDE = /\bCONTRACT\b|\bPRODUCT\.md\b|\bENGINEERING\.md\b|\.\.\/shared\b|\/work\/shared\b/;

describe('comments name only files that exist', () => {
  const files = SCANNED.flatMap((d) => sourceFiles(join(ROOT, d)));

  it('every path a comment names exists in the repository', () => {
    const everywhere = allNames(ROOT);
    const inSrc = allNames(join(ROOT, 'src'));
    const missing: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const c of commentsOf(text, file)) {
        for (const ref of referencesIn(c.text)) {
          if (!resolves(ref, file)) missing.push(`${relative(ROOT, file)}:${c.line}: ${ref}`);
        }
        const names = relative(ROOT, file).startsWith('src/') ? inSrc : everywhere;
        for (const name of bareNamesIn(c.text)) {
          if (!names.has(name) && !names.has(name.replace(/\.js$/, '.ts'))) missing.push(`${relative(ROOT, file)}:${c.line}: ${name}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('the documentation names only source files that exist', () => {
    const pages = [join(ROOT, 'README.md'), ...readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.md')).map((n) => join(ROOT, 'docs', n))];
    const missing: string[] = [];
    for (const page of pages) {
      const text = readFileSync(page, 'utf8');
      for (const m of text.matchAll(/`((?:src|test|scripts|bench|migrations)\/[\w./-]+\.(?:ts|js|mjs))`/g)) {
        if (!existsSync(join(ROOT, m[1]!))) missing.push(`${relative(ROOT, page)}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('no comment cites a document outside the repository', () => {
    const cited: string[] = [];
    for (const file of files) {
      if (file.endsWith('comment-references.test.ts')) continue;
      const text = readFileSync(file, 'utf8');
      for (const c of commentsOf(text, file)) {
        const m = OUTSIDE.exec(c.text);
        if (m) cited.push(`${relative(ROOT, file)}:${c.line}: ${m[0]}`);
      }
    }
    expect(cited).toEqual([]);
  });

  it('recognises the references it checks', () => {
    expect(referencesIn('/** see core/sessions/authenticator.ts and docs/operations.md#rate-limits */')).toEqual([
      'core/sessions/authenticator.ts',
      'docs/operations.md',
    ]);
    expect(referencesIn('// https://example.com/a/b.js is a URL, src/web/ a folder, src/x/*.ts a pattern')).toEqual(['src/web']);
    expect(bareNamesIn('/** as request-log.ts does (not https://x.test/y.ts) */')).toEqual(['request-log.ts']);
    expect(commentsOf("const re = /a\\/b.ts/; // x/y.ts\nconst s = '// not/a-comment.ts';").map((c) => c.text)).toEqual(['// x/y.ts']);
  });
});
