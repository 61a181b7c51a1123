import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { parseConfigObject } from '../../src/core/config/load.js';
import { call, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { skipUnless } from '../helpers/skip.js';

const ROOT = resolve(import.meta.dirname, '../..');
const K8S = join(ROOT, 'deploy/kubernetes');
const OVERLAYS = ['external-postgres', 'embedded-demo'];

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any };

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

/** Without kubectl the overlays are not rendered (the base files are still validated), and the run says so. */
const kubectlMode = skipUnless(kubectl, 'kubectl is not installed: the overlays are not rendered here (the base files are still validated); install kubectl to run those tests');

function render(overlay: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', join(K8S, 'overlays', overlay)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
}

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  it('every resource file of the base validates against the Kubernetes schemas', async () => {
    const files = readdirSync(join(K8S, 'base')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'claimgate.yaml');
    expect(files.length).toBeGreaterThanOrEqual(7);
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
    (kubectlMode === 'skip' ? it.skip : it)(`overlay ${overlay} renders with kubectl kustomize and every object validates`, async () => {
      if (kubectlMode === 'fail') throw new Error('kubectl is not installed; CI (CI=true) must provide it');
      const objects = render(overlay);
      await validateAll(objects);
      const deployment = objects.find((o) => o.kind === 'Deployment')!;
      const pod = deployment.spec.template.spec;
      const c = pod.containers[0];
      expect(c.readinessProbe.httpGet.path).toBe('/claimgate/health/ready');
      expect(c.livenessProbe.httpGet.path).toBe('/claimgate/health/live');
      expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
      expect(c.resources.requests).toBeDefined();
      // Secrets only by reference: no literal value of a secret variable in any rendered object.
      for (const e of c.env) expect(e.value).toBeUndefined();
      expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
      expect(objects.some((o) => o.kind === 'NetworkPolicy')).toBe(true);
      if (overlay === 'external-postgres') {
        expect(deployment.spec.replicas).toBe(3);
        expect(objects.find((o) => o.kind === 'HorizontalPodAutoscaler')?.spec.minReplicas).toBeGreaterThanOrEqual(3);
        expect(objects.find((o) => o.kind === 'PodDisruptionBudget')?.spec.minAvailable).toBe(2);
        expect(objects.find((o) => o.kind === 'Job')?.spec.template.spec.containers[0].args[0]).toBe('migrate');
      } else {
        expect(deployment.spec.replicas).toBe(1);
        expect(objects.some((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'Job')).toBe(false);
        expect(c.env.some((e: { name: string }) => e.name === 'DATABASE_URL')).toBe(false);
      }
    });
  }
});

describe('Grafana dashboard (deploy/grafana)', () => {
  let gw: TestGateway;
  let port: number;
  beforeAll(async () => {
    port = 20000 + Math.floor(Math.random() * 20000);
    gw = await startTestGateway({ metrics: { listen: `127.0.0.1:${port}` } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('every metric the dashboard queries is one the gateway exports', async () => {
    const path = join(ROOT, 'deploy/grafana/claimgate-dashboard.json');
    expect(existsSync(path)).toBe(true);
    const dashboard = JSON.parse(readFileSync(path, 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const names = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/claimgate_[a-z0-9_]+/g) ?? [])));
    expect(names.size).toBeGreaterThan(5);
    const exported = (await call(`http://127.0.0.1:${port}/metrics`)).text;
    const families = new Set([...exported.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    for (const n of names) {
      const family = n.replace(/_(bucket|count|sum)$/, '');
      expect([n, family].some((f) => families.has(f))).toBe(true);
    }
  });
});
