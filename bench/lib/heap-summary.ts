/**
 * Reads a V8 heap snapshot (`.heapsnapshot`, as written by `--heapsnapshot-signal`) and says what holds the memory:
 * the self size per constructor (Chrome DevTools' "Summary" view) and the objects with the largest retained size
 * (what would be freed with them), each with the chain of objects that dominate it.
 *
 *   node --import tsx bench/lib/heap-summary.ts FILE.heapsnapshot [TOP]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapSummary {
  totalBytes: number;
  nodes: number;
  byConstructor: { name: string; count: number; selfBytes: number }[];
  retainers: { name: string; retainedBytes: number; selfBytes: number; path: string[] }[];
}

export function summarise(file: string, top = 15): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const meta = snap.snapshot.meta;
  const NF = meta.node_fields.length;
  const EF = meta.edge_fields.length;
  const [nType, nName, nSelf, nEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f)) as [number, number, number, number];
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f)) as [number, number, number];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const weak = edgeTypes.indexOf('weak');
  const shortcut = edgeTypes.indexOf('shortcut');
  const n = snap.nodes.length / NF;

  const name = (i: number): string => {
    const type = nodeTypes[snap.nodes[i * NF + nType]!]!;
    const s = snap.strings[snap.nodes[i * NF + nName]!] ?? '';
    if (type === 'object' || type === 'closure' || type === 'native') return s || `(${type})`;
    return `(${type})`;
  };
  const self = (i: number) => snap.nodes[i * NF + nSelf]!;

  // Children lists (strong edges only), then post-order from the root (node 0).
  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) firstEdge[i + 1] = firstEdge[i]! + snap.nodes[i * NF + nEdges]!;
  const strong = (e: number) => {
    const t = snap.edges[e * EF + eType]!;
    return t !== weak && t !== shortcut;
  };
  const target = (e: number) => snap.edges[e * EF + eTo]! / NF;
  const element = edgeTypes.indexOf('element');
  const hidden = edgeTypes.indexOf('hidden');
  /** How `from` refers to `to`: a property name, `[index]`, or '' when it does not directly. */
  const via = (from: number, to: number): string => {
    for (let e = firstEdge[from]!; e < firstEdge[from + 1]!; e++) {
      if (target(e) !== to || !strong(e)) continue;
      const t = snap.edges[e * EF + eType]!;
      const k = snap.edges[e * EF + eName]!;
      return t === element || t === hidden ? `[${k}]` : `.${snap.strings[k] ?? k}`;
    }
    return '';
  };

  const order = new Int32Array(n).fill(-1); // post-order number
  const byOrder = new Int32Array(n);
  let count = 0;
  const stack: number[] = [0];
  const cursor = new Uint32Array(n);
  const visited = new Uint8Array(n);
  visited[0] = 1;
  for (let i = 0; i < n; i++) cursor[i] = firstEdge[i]!;
  while (stack.length) {
    const v = stack[stack.length - 1]!;
    let pushed = false;
    while (cursor[v]! < firstEdge[v + 1]!) {
      const e = cursor[v]!++;
      if (!strong(e)) continue;
      const w = target(e);
      if (!visited[w]) {
        visited[w] = 1;
        stack.push(w);
        pushed = true;
        break;
      }
    }
    if (!pushed) {
      stack.pop();
      order[v] = count;
      byOrder[count++] = v;
    }
  }

  // Predecessors of reachable nodes.
  const preds: number[][] = Array.from({ length: n }, () => []);
  for (let v = 0; v < n; v++) {
    if (order[v] === -1) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e++) if (strong(e)) preds[target(e)]!.push(v);
  }

  // Immediate dominators (Cooper, Harvey, Kennedy: iterate in reverse post-order until stable).
  const idom = new Int32Array(n).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (order[a]! < order[b]!) a = idom[a]!;
      while (order[b]! < order[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = count - 2; k >= 0; k--) {
      const v = byOrder[k]!;
      let d = -1;
      for (const p of preds[v]!) {
        if (idom[p] === -1) continue;
        d = d === -1 ? p : intersect(p, d);
      }
      if (d !== -1 && idom[v] !== d) {
        idom[v] = d;
        changed = true;
      }
    }
  }

  // Retained size: own size plus everything it dominates (children come before parents in post-order).
  const retained = new Float64Array(n);
  for (let k = 0; k < count; k++) {
    const v = byOrder[k]!;
    retained[v] += self(v);
    if (v !== 0) retained[idom[v]!] += retained[v]!;
  }

  const groups = new Map<string, { count: number; selfBytes: number }>();
  let total = 0;
  for (let v = 0; v < n; v++) {
    if (order[v] === -1) continue;
    total += self(v);
    const g = groups.get(name(v)) ?? { count: 0, selfBytes: 0 };
    g.count++;
    g.selfBytes += self(v);
    groups.set(name(v), g);
  }
  const byConstructor = [...groups].map(([k, g]) => ({ name: k, ...g })).sort((a, b) => b.selfBytes - a.selfBytes).slice(0, top);

  // The largest retainers below the synthetic roots (GC roots and their categories dominate everything).
  const synthetic = nodeTypes.indexOf('synthetic');
  const candidates: number[] = [];
  for (let v = 1; v < n; v++) if (order[v] !== -1 && snap.nodes[v * NF + nType] !== synthetic) candidates.push(v);
  candidates.sort((a, b) => retained[b]! - retained[a]!);
  const retainers: HeapSummary['retainers'] = [];
  const seen = new Set<number>();
  for (const v of candidates) {
    if (retainers.length >= top) break;
    // Skip an object whose dominator is already listed with nearly the same size (the same memory twice).
    const d = idom[v]!;
    if (seen.has(d) && retained[d]! - retained[v]! < retained[d]! * 0.1) {
      seen.add(v);
      continue;
    }
    seen.add(v);
    const path: string[] = [];
    for (let c = v, u = idom[v]!; u !== 0 && path.length < 6; c = u, u = idom[u]!) {
      if (snap.nodes[u * NF + nType] !== synthetic) path.push(`${name(u)}${via(u, c)}`);
    }
    retainers.push({ name: name(v), retainedBytes: retained[v]!, selfBytes: self(v), path });
  }
  return { totalBytes: total, nodes: count, byConstructor, retainers };
}

export function formatSummary(s: HeapSummary): string {
  const mib = (b: number) => `${(b / 1048576).toFixed(2)} MiB`;
  const lines = [`heap: ${mib(s.totalBytes)} in ${s.nodes} reachable objects`, '', 'self size by constructor:'];
  for (const g of s.byConstructor) lines.push(`  ${mib(g.selfBytes).padStart(10)}  ${String(g.count).padStart(7)}  ${g.name.slice(0, 80)}`);
  lines.push('', 'largest retained sizes (held by ← dominators):');
  for (const r of s.retainers) lines.push(`  ${mib(r.retainedBytes).padStart(10)}  ${r.name.slice(0, 60)}${r.path.length ? `  ← ${r.path.map((p) => p.slice(0, 40)).join(' ← ')}` : ''}`);
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('heap-summary.ts')) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node --import tsx bench/lib/heap-summary.ts FILE.heapsnapshot [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(summarise(file, Number(process.argv[3] ?? 15)))}\n`);
}
