/** One configuration problem: where (`issuers[0].audiences`), what, and how to fix it. */
export interface Problem {
  path: string;
  message: string;
  hint?: string;
}

/** Formats a path array as `issuers[0].audiences`. */
export function formatPath(parts: readonly PropertyKey[], base = ''): string {
  let out = base;
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else {
      const key = String(p);
      const plain = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key);
      out += plain ? (out ? `.${key}` : key) : `[${JSON.stringify(key)}]`;
    }
  }
  return out || '(root)';
}

/** `path: message (how to fix)` — the line format of `claimgate check-config`. */
export function formatProblem(p: Problem): string {
  return `${p.path}: ${p.message}${p.hint ? ` (${p.hint})` : ''}`;
}

/** Thrown when a configuration cannot be used; carries every problem at once. */
export class ConfigError extends Error {
  constructor(
    readonly problems: Problem[],
    /** true when the file itself could not be read or parsed as YAML. */
    readonly unreadable = false,
  ) {
    super(`invalid configuration:\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'ConfigError';
  }
}
