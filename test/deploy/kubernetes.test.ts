import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { parseConfigObject } from '../../src/core/config/load.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, cookieOf, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { kustomize } from '../helpers/kustomize.js';
import { skipUnless } from '../helpers/skip.js';
import { freePort } from '../helpers/ports.js';

const ROOT = resolve(import.meta.dirname, '../..');
const K8S = join(ROOT, 'deploy/kubernetes');
const OVERLAYS = ['external-postgres', 'embedded-demo'];

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };

/** The kubernetes-models class for an object, by its apiVersion and kind (core objects live under `v1/`). */
async function modelOf(o: K8sObject): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const mod = (await import(`kubernetes-models/${group ? `${group}/` : ''}${version}/${o.kind}`)) as Record<string, any>;
  return mod[o.kind] ?? mod.default;
}

async function validateAll(objects: K8sObject[]): Promise<void> {
  for (const o of objects) {
    const Model = await modelOf(o);
    try {
      new Model(o).validate();
    } catch (e) {
      throw new Error(`${o.kind}/${o.metadata?.name}: ${(e as Error).message}`);
    }
  }
}

const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Without kubectl the overlays are rendered by the test's own renderer only, and the run says so. */
const kubectlMode = skipUnless(kubectl, "kubectl is not installed: the overlays are rendered by the test's own renderer, and its comparison with kubectl kustomize is skipped");

function renderWithKubectl(overlay: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', join(K8S, 'overlays', overlay)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
}

/** `kubectl kustomize` where it is installed, else the test's own renderer (checked against kubectl below). */
function render(overlay: string): K8sObject[] {
  return kubectl ? renderWithKubectl(overlay) : (kustomize(join(K8S, 'overlays', overlay)) as K8sObject[]);
}

const byKindAndName = (objects: K8sObject[]) => Object.fromEntries(objects.map((o) => [`${o.kind}/${o.metadata.name}`, JSON.parse(JSON.stringify(o))]));

/** Whether a selector's matchLabels all hold in a set of labels. */
const selects = (selector: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string> | undefined) =>
  !!selector?.matchLabels && Object.entries(selector.matchLabels).every(([k, v]) => labels?.[k] === v);

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  it('every resource file of the base validates against the Kubernetes schemas', async () => {
    const files = readdirSync(join(K8S, 'base')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'claimgate.yaml');
    expect(files.length).toBeGreaterThanOrEqual(6);
    const objects = files.flatMap((f) => parseAllDocuments(readFileSync(join(K8S, 'base', f), 'utf8')).map((d) => d.toJS() as K8sObject));
    await validateAll(objects);
    // A deliberate typo is caught: the check can fail.
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const broken = structuredClone(deployment);
    broken.spec.replicas = 'three';
    await expect(validateAll([broken])).rejects.toThrow(/Deployment/);
  });

  it('the configuration files the manifests mount are valid claimgate configurations', () => {
    const env = { SESSION_SECRET: 'x'.repeat(40), DATABASE_URL: 'postgres://db/claimgate', PUBLIC_URL: 'https://bi.example.com', ISSUER_URL: 'https://idp.example.com' };
    for (const file of ['base/claimgate.yaml', 'overlays/embedded-demo/claimgate.yaml']) {
      const text = readFileSync(join(K8S, file), 'utf8').replace(/\$\{(\w+)\}/g, (_m, v: keyof typeof env) => env[v]);
      expect(() => parseConfigObject(parse(text), {})).not.toThrow();
    }
  });

  for (const overlay of OVERLAYS) {
    (kubectlMode === 'skip' ? it.skip : it)(`overlay ${overlay}: the test's renderer gives exactly what kubectl kustomize gives`, () => {
      if (kubectlMode === 'fail') throw new Error('kubectl is not installed; CI (CI=true) must provide it');
      const ours = byKindAndName(kustomize(join(K8S, 'overlays', overlay)) as K8sObject[]);
      expect(ours).toEqual(byKindAndName(renderWithKubectl(overlay)));
    });

    it(`overlay ${overlay} renders (${kubectl ? 'kubectl kustomize' : "the test's renderer"}) and every object validates`, async () => {
      const objects = render(overlay);
      await validateAll(objects);
      const deployment = objects.find((o) => o.kind === 'Deployment')!;
      const pod = deployment.spec.template.spec;
      const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
      // The Service, the Deployment, the disruption budget and the NetworkPolicy select the gateway's pods.
      const service = objects.find((o) => o.kind === 'Service')!;
      expect(selects({ matchLabels: service.spec.selector }, podLabels)).toBe(true);
      expect(selects(deployment.spec.selector, podLabels)).toBe(true);
      expect(selects(objects.find((o) => o.kind === 'PodDisruptionBudget')!.spec.selector, podLabels)).toBe(true);
      const policy = objects.find((o) => o.kind === 'NetworkPolicy')!;
      expect(selects(policy.spec.podSelector, podLabels)).toBe(true);
      // Egress to the app is to the app's pods (the upstream URL's port), not to claimgate's own.
      const toApp = policy.spec.egress.find((r: { ports: { port: number }[] }) => r.ports.some((p) => p.port === 9000));
      expect(toApp.to).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'analytics' } } }]);
      const c = pod.containers[0];
      expect(c.readinessProbe.httpGet.path).toBe('/claimgate/health/ready');
      expect(c.livenessProbe.httpGet.path).toBe('/claimgate/health/live');
      expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
      expect(c.resources.requests).toBeDefined();
      // Secrets only by reference: no literal value of a secret variable in any rendered object.
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        for (const e of container.env) expect(e.value).toBeUndefined();
        expect(container.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false });
        expect(container.resources.requests).toBeDefined();
      }
      expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
      expect(objects.some((o) => o.kind === 'NetworkPolicy')).toBe(true);
      if (overlay === 'external-postgres') {
        expect(deployment.spec.replicas).toBe(3);
        expect(objects.find((o) => o.kind === 'HorizontalPodAutoscaler')?.spec.minReplicas).toBeGreaterThanOrEqual(3);
        expect(objects.find((o) => o.kind === 'PodDisruptionBudget')?.spec.minAvailable).toBe(2);
        // The migrations run before the gateway starts: an init container, the same image and configuration.
        expect(pod.initContainers.map((i: { name: string }) => i.name)).toEqual(['migrate']);
        expect(pod.initContainers[0].args[0]).toBe('migrate');
        expect(pod.initContainers[0].image).toBe(c.image);
        expect(pod.initContainers[0].env).toEqual(c.env);
        const config = objects.find((o) => o.kind === 'ConfigMap')!;
        expect(parse(config.data!['claimgate.yaml']).database.migrate).toBe(false);
      } else {
        expect(deployment.spec.replicas).toBe(1);
        expect(pod.initContainers ?? []).toEqual([]);
        expect(objects.some((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'Job')).toBe(false);
        expect(c.env.some((e: { name: string }) => e.name === 'DATABASE_URL')).toBe(false);
      }
    });
  }
});

describe('Grafana dashboard (deploy/grafana)', () => {
  let gw: TestGateway;
  let port: number;
  let receiver: Server;
  beforeAll(async () => {
    // An audit receiver, so the audit stream's metrics are exported too.
    receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    port = await freePort();
    gw = await startTestGateway({
      metrics: { listen: `127.0.0.1:${port}` },
      audit: { stream: { type: 'http', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/audit` } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await new Promise<void>((r) => receiver?.close(() => r()));
  });

  it('every metric the dashboard queries is one the gateway exports, with the labels the query uses', async () => {
    const path = join(ROOT, 'deploy/grafana/claimgate-dashboard.json');
    expect(existsSync(path)).toBe(true);
    const dashboard = JSON.parse(readFileSync(path, 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
      templating: { list: { query: unknown }[] };
    };
    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.templating.list.map((v) => v.query).filter((q): q is string => typeof q === 'string' && q.includes('claimgate_')),
    ];
    const names = new Set(exprs.flatMap((e) => e.match(/claimgate_[a-z0-9_]+/g) ?? []));
    expect(names.size).toBeGreaterThan(5);
    // Series exist once something happened: a sign-in, a refused token, a proxied request.
    const cookie = cookieOf((await call(`${gw.url}/claimgate/sso?jwt=${await gw.token()}`)).headers['set-cookie']);
    expect((await call(`${gw.url}/claimgate/sso?jwt=not-a-token`, { headers: { accept: 'application/json' } })).status).toBe(401);
    expect((await call(`${gw.url}/x`, { headers: { cookie } })).status).toBe(200);
    const exported = (await call(`http://127.0.0.1:${port}/metrics`)).text;
    const families = new Set([...exported.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    /** The label names of a metric's exported series. */
    const labelsOf = (name: string) =>
      new Set([...exported.matchAll(new RegExp(`^${name}\\{([^}]*)\\}`, 'gm'))].flatMap((m) => [...m[1]!.matchAll(/(\w+)="/g)].map((l) => l[1]!)));
    for (const n of names) {
      const family = n.replace(/_(bucket|count|sum)$/, '');
      expect([n, family].some((f) => families.has(f)) ? n : `${n} is not exported`).toBe(n);
    }
    // Prometheus adds `instance` and `job` at scrape time; every other label a query names must be on the metric.
    for (const expr of exprs) {
      const metrics = expr.match(/claimgate_[a-z0-9_]+/g) ?? [];
      const used = new Set([
        ...[...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim())),
        ...[...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/(\w+)\s*[=!]~?/g)].map((l) => l[1]!)),
        ...[...expr.matchAll(/label_values\([^,]+,\s*(\w+)\)/g)].map((m) => m[1]!),
      ]);
      for (const label of used) {
        if (label === 'instance' || label === 'job') continue;
        const found = metrics.some((m) => labelsOf(m).has(label));
        expect(found ? label : `${label} is on none of ${metrics.join(', ')} (${expr})`).toBe(label);
      }
    }
  });

  it('has panels for the sign-in, mapping, database and upstream latency and the audit stream backlog', () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/claimgate-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const all = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const m of ['claimgate_login_duration_seconds_bucket', 'claimgate_mapping_duration_seconds_bucket', 'claimgate_db_query_duration_seconds_bucket', 'claimgate_proxy_request_duration_seconds_bucket', 'claimgate_audit_stream_backlog'])
      expect(all).toContain(m);
  });
});
