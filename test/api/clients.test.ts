// Real clients against a real HTTPS control plane: kubectl 1.32 and
// @kubernetes/client-node, with the admin kubeconfig the control plane wrote.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';

const run = promisify(execFile);
let cp: TestControlplane;
let dir: string;

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', ['--kubeconfig', cp.kubeconfigPath, ...args], {
    timeout: 30_000,
  });
  return stdout;
}

async function kubectlFails(...args: string[]): Promise<string> {
  try {
    await kubectl(...args);
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  throw new Error(`kubectl ${args.join(' ')} succeeded`);
}

beforeAll(async () => {
  cp = await startTestControlplane();
  dir = await mkdtemp(join(tmpdir(), 'shoal-clients-'));
});
afterAll(async () => {
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kubectl', () => {
  it('applies the examples, reads them back, patches, scales, labels and deletes', async () => {
    const applied = await kubectl('apply', '-f', 'deploy/examples/');
    expect(applied).toMatch(/deployment.apps\/web created/);
    expect(applied).toMatch(/configmap\/web-page created/);
    expect(applied).toMatch(/service\/web created/);
    expect(applied).toMatch(/job.batch\/count created/);
    expect(applied).toMatch(/daemonset.apps\/log-shipper created/);
    expect(await kubectl('apply', '-f', 'deploy/examples/')).toMatch(
      /deployment.apps\/web unchanged/,
    );

    const names = await kubectl('get', 'deployments,configmaps', '-o', 'name');
    expect(names).toMatch(/deployment.apps\/web/);
    const web = JSON.parse(await kubectl('get', 'deploy', 'web', '-o', 'json')) as k8s.V1Deployment;
    expect(web.spec?.replicas).toBe(3);

    await kubectl('scale', 'deployment/web', '--replicas=5');
    expect(await kubectl('get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}')).toBe('5');
    await kubectl('label', 'deploy', 'web', 'tier=frontend');
    await kubectl('annotate', 'deploy', 'web', 'note=hello');
    expect(await kubectl('get', 'deploy', '-l', 'tier=frontend', '-o', 'name')).toMatch(/web/);
    await kubectl(
      'patch',
      'deploy',
      'web',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"httpd","image":"busybox:1.37"}]}}}}',
    );
    const patched = JSON.parse(
      await kubectl('get', 'deploy', 'web', '-o', 'json'),
    ) as k8s.V1Deployment;
    expect(patched.spec?.template.spec?.containers[0]?.image).toBe('busybox:1.37');
    expect(patched.spec?.template.spec?.containers[0]?.ports?.[0]?.containerPort).toBe(8080);
    await kubectl(
      'patch',
      'deploy',
      'web',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/replicas","value":2}]',
    );
    await kubectl(
      'patch',
      'deploy',
      'web',
      '--type=merge',
      '-p',
      '{"metadata":{"labels":{"m":"1"}}}',
    );
    expect(
      await kubectl('get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas} {.metadata.labels.m}'),
    ).toBe('2 1');

    // Server-side printing: the columns kubectl users know.
    expect((await kubectl('get', 'deploy', 'web')).split('\n')[0]).toMatch(
      /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/,
    );
    expect((await kubectl('get', 'svc', 'web', '-o', 'wide')).split('\n')[0]).toMatch(
      /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\s+SELECTOR$/,
    );
    expect(await kubectl('get', 'cm', 'web-page')).toMatch(/web-page\s+1\s+\d+s/);

    const describe = await kubectl('describe', 'deployment', 'web');
    expect(describe).toMatch(/Replicas:/);

    expect(await kubectl('apply', '--server-side', '-f', 'deploy/examples/job.yaml')).toMatch(
      /job.batch\/count serverside-applied/,
    );

    await kubectl('delete', '-f', 'deploy/examples/');
    expect(await kubectlFails('get', 'deploy', 'web')).toMatch(/NotFound|not found/);
  });

  it('rejects an invalid manifest with the field named, and writes nothing', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers:\n  - name: c\n',
    );
    const err = await kubectlFails('apply', '-f', file);
    expect(err).toMatch(/metadata.name/);
    expect(err).toMatch(/spec.containers\[0\].image/);
    expect(await kubectl('get', 'pods', '-o', 'name')).toBe('');
  });

  it('rejects unknown fields as kubectl asks (fieldValidation=Strict), and writes nothing', async () => {
    const file = join(dir, 'typo.yaml');
    await writeFile(
      file,
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\nspec:\n  containers:\n  - name: c\n    image: busybox\n    imagee: busybox\n',
    );
    const err = await kubectlFails('apply', '-f', file);
    expect(err).toMatch(/unknown field "spec.containers\[0\].imagee"/);
    expect(await kubectl('get', 'pods', '-o', 'name')).toBe('');
    // --validate=warn: the field is dropped, with a warning.
    const { stderr } = await run('kubectl', [
      '--kubeconfig',
      cp.kubeconfigPath,
      'apply',
      '--validate=warn',
      '-f',
      file,
    ]);
    expect(stderr).toMatch(/unknown field/);
    expect(await kubectl('get', 'pod', 'typo', '-o', 'jsonpath={.spec.containers[0].image}')).toBe(
      'busybox',
    );
    await kubectl('delete', 'pod', 'typo');
  });

  it('streams changes to kubectl get -w', async () => {
    // `kubectl create configmap` would send protobuf, which Shoal does not decode: apply sends JSON.
    const file = join(dir, 'watched.yaml');
    await writeFile(
      file,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: watched\ndata:\n  a: "1"\n',
    );
    await kubectl('apply', '-f', file);
    const child = spawn('kubectl', [
      '--kubeconfig',
      cp.kubeconfigPath,
      'get',
      'configmap',
      'watched',
      '-w',
      '-o',
      'jsonpath={.data.a}{"\\n"}',
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await expect.poll(() => out, { timeout: 15_000 }).toMatch(/1\n/);
      await kubectl('patch', 'configmap', 'watched', '-p', '{"data":{"a":"2"}}');
      await expect.poll(() => out, { timeout: 15_000 }).toMatch(/1\n2\n/);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('@kubernetes/client-node', () => {
  it('drives typed clients, KubernetesObjectApi and watches', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);

    await core.createNamespace({ body: { metadata: { name: 'typed' } } });
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch(
      '/api/v1/namespaces/typed/configmaps',
      {},
      (type: string, obj: k8s.V1ConfigMap) => seen.push(`${type} ${obj.metadata?.name ?? ''}`),
      () => undefined,
    );
    try {
      await core.createNamespacedConfigMap({
        namespace: 'typed',
        body: { metadata: { name: 'one' }, data: { k: 'v' } },
      });
      await core.patchNamespacedConfigMap(
        { namespace: 'typed', name: 'one', body: { data: { k: 'w' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await core.deleteNamespacedConfigMap({ namespace: 'typed', name: 'one' });
      await expect
        .poll(() => seen, { timeout: 10_000 })
        .toEqual(['ADDED one', 'MODIFIED one', 'DELETED one']);
    } finally {
      req.abort();
    }

    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const spec: k8s.V1Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'obj', namespace: 'typed' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'obj' } },
        template: {
          metadata: { labels: { app: 'obj' } },
          spec: { containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
    };
    await objects.create(spec);
    const read = await apps.readNamespacedDeployment({ namespace: 'typed', name: 'obj' });
    expect(read.spec?.replicas).toBe(1);
    const err = await apps
      .createNamespacedDeployment({ namespace: 'typed', body: spec })
      .catch((e: unknown) => e);
    expect((err as { code?: number }).code).toBe(409);
    const list = await apps.listNamespacedDeployment({ namespace: 'typed' });
    expect(list.items.map((d) => d.metadata?.name)).toEqual(['obj']);
  });
});
