import { dict } from '../own-keys.js';
import type { TraceEntry } from './types.js';

/** For each role (or permission) name, the rules of the trace that produced it, e.g. `{ admin: ['roles[0]'] }`. */
export function producedBy(trace: TraceEntry[], kind: 'roles' | 'permissions'): Record<string, string[]> {
  const out = dict<string[]>();
  for (const e of trace) {
    if (!e.path.startsWith(`${kind}[`) || !['produced', 'matched', 'default'].includes(e.outcome)) continue;
    for (const name of Array.isArray(e.values) ? e.values : []) (out[String(name)] ??= []).push(e.path);
  }
  return out;
}
