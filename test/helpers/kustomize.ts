import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/**
 * A small kustomize for machines without kubectl: the parts of kustomize that deploy/kubernetes uses (resources and
 * nested kustomizations, namespace, labels on metadata, configMapGenerator with create and replace and the content
 * hash suffix, images, strategic-merge patches with `$patch: delete` and null, JSON 6902 patches, and the name
 * references to generated ConfigMaps from pod volumes and env). test/deploy/kubernetes.test.ts checks that it
 * renders exactly what `kubectl kustomize` renders wherever kubectl is installed, so it cannot drift unnoticed.
 */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };

interface Kustomization {
  namespace?: string;
  resources?: string[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }[];
  configMapGenerator?: { name: string; behavior?: 'create' | 'replace' | 'merge'; files?: string[]; literals?: string[] }[];
  images?: { name: string; newName?: string; newTag?: string }[];
  patches?: { path?: string; patch?: string; target?: { kind?: string; name?: string } }[];
  [k: string]: unknown;
}

const KNOWN = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'labels', 'configMapGenerator', 'images', 'patches']);
const GENERATED = Symbol('generated');

/** Merge keys of the lists the strategic merge patches touch (as in the Kubernetes API's patchMergeKey). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
};

export function kustomize(dir: string): K8sObject[] {
  const objects = build(dir);
  // Generated ConfigMaps get a hash of their content in their name, and the references to them follow.
  const renamed = new Map<string, string>();
  for (const o of objects) {
    if (!(o as Record<symbol, unknown>)[GENERATED]) continue;
    const name = o.metadata.name;
    o.metadata.name = `${name}-${configMapHash(o)}`;
    renamed.set(name, o.metadata.name);
  }
  for (const o of objects) for (const pod of podSpecs(o)) renameConfigMapRefs(pod, renamed);
  return objects;
}

function build(dir: string): K8sObject[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const unknown = Object.keys(k).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) throw new Error(`${dir}: this renderer does not know ${unknown.join(', ')}`);
  let objects: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const path = join(dir, r);
    if (statSync(path).isDirectory()) objects.push(...build(path));
    else objects.push(...parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as K8sObject));
  }
  const own: K8sObject[] = [];
  for (const g of k.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const f of g.files ?? []) data[basename(f)] = readFileSync(join(dir, f), 'utf8');
    for (const l of g.literals ?? []) data[l.slice(0, l.indexOf('='))] = l.slice(l.indexOf('=') + 1);
    const behavior = g.behavior ?? 'create';
    if (behavior === 'create') {
      const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name }, data } as K8sObject;
      (cm as Record<symbol, unknown>)[GENERATED] = true;
      own.push(cm);
    } else {
      const existing = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === g.name);
      if (!existing) throw new Error(`${dir}: no ConfigMap ${g.name} to ${behavior}`);
      existing.data = behavior === 'replace' ? data : { ...existing.data, ...data };
    }
  }
  objects.push(...own);
  for (const p of k.patches ?? []) {
    const doc = parse(p.path ? readFileSync(join(dir, p.path), 'utf8') : p.patch!) as unknown;
    if (Array.isArray(doc)) {
      for (const o of objects.filter((o) => matches(o, p.target))) applyJson6902(o, doc as JsonOp[]);
      continue;
    }
    const patch = doc as K8sObject & { $patch?: string };
    const target = p.target ?? { kind: patch.kind, name: patch.metadata?.name };
    if (patch.$patch === 'delete') {
      objects = objects.filter((o) => !matches(o, target));
      continue;
    }
    for (const o of objects.filter((o) => matches(o, target))) mergeInto(o, patch);
  }
  for (const image of k.images ?? []) {
    for (const o of objects)
      for (const pod of podSpecs(o))
        for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
          const name = String(c.image).replace(/@.*$/, '').replace(/:[^/:]*$/, '');
          if (name !== image.name) continue;
          c.image = `${image.newName ?? name}${image.newTag ? `:${image.newTag}` : ''}`;
        }
  }
  for (const l of k.labels ?? []) {
    if (l.includeSelectors || l.includeTemplates) throw new Error(`${dir}: this renderer adds labels to metadata only`);
    for (const o of [...objects]) o.metadata.labels = { ...o.metadata.labels, ...l.pairs };
  }
  if (k.namespace) for (const o of objects) o.metadata.namespace = k.namespace;
  return objects;
}

function matches(o: K8sObject, target: { kind?: string; name?: string } | undefined): boolean {
  return !!target && (!target.kind || o.kind === target.kind) && (!target.name || o.metadata.name === target.name);
}

/** The pod specs of a workload (Deployment, Job...), or none. */
function podSpecs(o: K8sObject): any[] {
  const pod = o.spec?.template?.spec ?? o.spec?.jobTemplate?.spec?.template?.spec;
  return pod ? [pod] : [];
}

function renameConfigMapRefs(pod: any, renamed: Map<string, string>): void {
  const to = (name: string) => renamed.get(name) ?? name;
  for (const v of pod.volumes ?? []) if (v.configMap?.name) v.configMap.name = to(v.configMap.name);
  for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
    for (const e of c.env ?? []) if (e.valueFrom?.configMapKeyRef?.name) e.valueFrom.configMapKeyRef.name = to(e.valueFrom.configMapKeyRef.name);
    for (const e of c.envFrom ?? []) if (e.configMapRef?.name) e.configMapRef.name = to(e.configMapRef.name);
  }
}

/** A strategic merge patch: maps merge, null deletes, lists with a merge key merge by it, other lists replace. */
function mergeInto(target: Record<string, any>, patch: Record<string, any>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch') continue;
    if (value === null) {
      delete target[key];
    } else if (Array.isArray(value) && MERGE_KEYS[key] && Array.isArray(target[key])) {
      target[key] = mergeList(target[key], value, MERGE_KEYS[key]);
    } else if (isMap(value) && isMap(target[key])) {
      mergeInto(target[key], value);
    } else {
      target[key] = structuredClone(value);
    }
  }
}

/** The patch's elements first (merged with the target's of the same key), then the target's other elements. */
function mergeList(target: any[], patch: any[], key: string): any[] {
  const out: any[] = [];
  const seen = new Set<unknown>();
  for (const p of patch) {
    seen.add(p[key]);
    if (p.$patch === 'delete') continue;
    const t = target.find((e) => e[key] === p[key]);
    if (t) {
      mergeInto(t, p);
      out.push(t);
    } else {
      const fresh = {};
      mergeInto(fresh, p);
      out.push(fresh);
    }
  }
  for (const t of target) if (!seen.has(t[key])) out.push(t);
  return out;
}

const isMap = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

interface JsonOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

function applyJson6902(o: K8sObject, ops: JsonOp[]): void {
  for (const op of ops) {
    const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let node: any = o;
    for (const p of parts) node = node[p];
    if (node === undefined) throw new Error(`JSON patch path ${op.path} does not exist in ${o.kind}/${o.metadata.name}`);
    if (op.op === 'remove') {
      if (Array.isArray(node)) node.splice(Number(last), 1);
      else delete node[last];
    } else if (op.op === 'add' && Array.isArray(node)) {
      node.splice(last === '-' ? node.length : Number(last), 0, op.value);
    } else {
      if (op.op === 'replace' && !(last in node)) throw new Error(`JSON patch path ${op.path} does not exist in ${o.kind}/${o.metadata.name}`);
      node[last] = op.value;
    }
  }
}

/**
 * kustomize's name suffix: the SHA-256 of the ConfigMap's kind, name and data as Go's encoding/json writes them
 * (sorted keys, `<`, `>` and `&` escaped), its first ten hex digits with 0, 1, 3, a and e replaced (g, h, k, m, t).
 * The name kustomize hashes is always empty: it looks up `metadata/name` as one field name, which no object has.
 */
function configMapHash(cm: K8sObject): string {
  const doc: Record<string, unknown> = { data: sortKeys(cm.data ?? {}), kind: 'ConfigMap', name: '' };
  if (cm.binaryData && Object.keys(cm.binaryData).length > 0) doc.binaryData = sortKeys(cm.binaryData);
  const json = JSON.stringify(sortKeys(doc)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const hex = createHash('sha256').update(json).digest('hex').slice(0, 10);
  const swap: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return [...hex].map((c) => swap[c] ?? c).join('');
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}
