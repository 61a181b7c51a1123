import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** README.md and every markdown file under docs/, as paths relative to root. */
export function markdownFiles(root: string): string[] {
  const out = ['README.md'];
  const walk = (dir: string): void => {
    if (!existsSync(join(root, dir))) return;
    for (const name of readdirSync(join(root, dir)).sort()) {
      const rel = join(dir, name);
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.md')) out.push(rel);
    }
  };
  walk('docs');
  return out;
}

/** Link targets of a markdown text, leaving out code blocks and inline code (their brackets are not links). */
export function linkTargets(markdown: string): string[] {
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
  const targets: string[] = [];
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]);
  for (const m of text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) targets.push(m[1]);
  return targets;
}

/** Relative links (to a file of this repository) whose file does not exist, as `from -> target` with the resolved path. */
export function brokenLinks(root: string, files = markdownFiles(root)): { from: string; target: string; path: string }[] {
  const broken: { from: string; target: string; path: string }[] = [];
  for (const from of files) {
    for (const target of linkTargets(readFileSync(join(root, from), 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
      const file = decodeURI(target.replace(/[#?].*$/, ''));
      const path = relative(root, resolve(root, file.startsWith('/') ? `.${file}` : join(dirname(from), file)));
      if (!existsSync(join(root, path))) broken.push({ from, target, path });
    }
  }
  return broken;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to `-`, repeats numbered `-1`, `-2`, ... */
export function headingAnchors(markdown: string): Set<string> {
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1].toLowerCase().replace(/[^\p{L}\p{N}\p{M}_\- ]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
  return anchors;
}

/** Links to `file.md#anchor` (or `#anchor` on the same page) whose page exists but has no such heading. */
export function brokenAnchors(root: string, files = markdownFiles(root)): { from: string; target: string }[] {
  const broken: { from: string; target: string }[] = [];
  const cache = new Map<string, Set<string>>();
  const anchorsOf = (path: string): Set<string> => {
    if (!cache.has(path)) cache.set(path, headingAnchors(readFileSync(join(root, path), 'utf8')));
    return cache.get(path)!;
  };
  for (const from of files) {
    for (const target of linkTargets(readFileSync(join(root, from), 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || !target.includes('#')) continue;
      const [file, anchor] = target.split('#', 2);
      const path = file ? relative(root, resolve(root, join(dirname(from), decodeURI(file)))) : from;
      if (!path.endsWith('.md') || !existsSync(join(root, path))) continue;
      if (!anchorsOf(path).has(decodeURIComponent(anchor))) broken.push({ from, target });
    }
  }
  return broken;
}
