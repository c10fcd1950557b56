// `shoal get` against a real control plane: the server's Table laid out as
// kubectl does (AGE masked), wide/-A/--show-labels columns, machine formats,
// selectors, every short name, -w, and the error paths.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { maskAge, runCli } from './harness.js';

let cp: TestControlplane;
let k: string[];

const manifests = `apiVersion: v1
kind: Namespace
metadata:
  name: g
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: alpha
  namespace: g
  labels: {app: web, tier: front}
data: {a: "1", b: "2"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: beta-longer-name
  namespace: g
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: elsewhere
  namespace: default
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: g
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: busybox
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: g
spec:
  selector: {app: web}
  ports:
  - port: 80
`;

beforeAll(async () => {
  cp = await startTestControlplane();
  k = ['--kubeconfig', cp.kubeconfigPath];
  const r = await runCli(['apply', '-f', '-', ...k], { stdin: manifests });
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(async () => {
  await cp?.stop();
});

describe('get', () => {
  it('prints the server table with kubectl alignment', async () => {
    const r = await runCli(['get', 'configmaps', '-n', 'g', ...k]);
    expect(r.code).toBe(0);
    expect(maskAge(r.stdout)).toBe(
      'NAME               DATA   AGE\n' +
        'alpha              2      <age>\n' +
        'beta-longer-name   1      <age>\n',
    );
    expect(maskAge((await runCli(['get', 'deploy', '-n', 'g', ...k])).stdout)).toBe(
      'NAME   READY   UP-TO-DATE   AVAILABLE   AGE\n' +
        'web    0/3     0            0           <age>\n',
    );
  });

  it('adds priority-1 columns with -o wide, NAMESPACE with -A, LABELS with --show-labels', async () => {
    const wide = (await runCli(['get', 'svc', 'web', '-n', 'g', '-o', 'wide', ...k])).stdout;
    // CLUSTER-IP is as wide as the allocated address.
    expect(wide.split('\n')[0]).toMatch(
      /^NAME {3}TYPE {8}CLUSTER-IP +EXTERNAL-IP {3}PORT\(S\) {3}AGE {3}SELECTOR$/,
    );
    expect(wide.split('\n')[1]).toMatch(
      /^web {4}ClusterIP {3}10\.\d+\.\d+\.\d+ +<none> {8}80\/TCP {4}\S+\s+app=web$/,
    );
    const all = await runCli(['get', 'cm', '-A', ...k]);
    expect(maskAge(all.stdout)).toBe(
      'NAMESPACE   NAME               DATA   AGE\n' +
        'default     elsewhere          0      <age>\n' +
        'g           alpha              2      <age>\n' +
        'g           beta-longer-name   1      <age>\n',
    );
    const labels = await runCli(['get', 'cm', '-n', 'g', '--show-labels', ...k]);
    const lines = labels.stdout.trimEnd().split('\n');
    // AGE is not last here, so check LABELS's alignment by position rather than masking.
    const at = lines[0]!.indexOf('LABELS');
    expect(lines[0]).toMatch(/^NAME {15}DATA {3}AGE +LABELS$/);
    expect(lines.map((l) => l.slice(at))).toEqual(['LABELS', 'app=web,tier=front', '<none>']);
    expect(lines[1]).toMatch(/^alpha {14}2 {6}\S+ +app=web,tier=front$/);
  });

  it('filters with -l and names, and prints several kinds as kind/name tables', async () => {
    expect(
      (await runCli(['get', 'cm', '-n', 'g', '-l', 'app=web', '-o', 'name', ...k])).stdout,
    ).toBe('configmap/alpha\n');
    expect(
      (await runCli(['get', 'cm', 'beta-longer-name', 'alpha', '-n', 'g', '-o', 'name', ...k]))
        .stdout,
    ).toBe('configmap/beta-longer-name\nconfigmap/alpha\n');
    const multi = maskAge((await runCli(['get', 'deploy,svc', '-n', 'g', ...k])).stdout).split(
      '\n\n',
    );
    expect(multi).toHaveLength(2);
    expect(multi[0]).toMatch(/^NAME +READY .*\ndeployment\.apps\/web +0\/3 /);
    expect(multi[1]).toMatch(/^NAME +TYPE .*\nservice\/web +ClusterIP /);
    expect(
      (await runCli(['get', 'deploy/web', 'cm/alpha', '-n', 'g', '-o', 'name', ...k])).stdout,
    ).toBe('deployment.apps/web\nconfigmap/alpha\n');
  });

  it('prints yaml, json and jsonpath', async () => {
    const one = parse(
      (await runCli(['get', 'cm', 'alpha', '-n', 'g', '-o', 'yaml', ...k])).stdout,
    ) as {
      kind: string;
      apiVersion: string;
      data: Record<string, string>;
    };
    expect(one).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1', data: { a: '1', b: '2' } });
    const list = JSON.parse(
      (await runCli(['get', 'cm', '-n', 'g', '-o', 'json', ...k])).stdout,
    ) as {
      kind: string;
      items: { kind: string; metadata: { name: string } }[];
    };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => `${i.kind}/${i.metadata.name}`)).toEqual([
      'ConfigMap/alpha',
      'ConfigMap/beta-longer-name',
    ]);
    expect(
      (await runCli(['get', 'deploy', 'web', '-n', 'g', '-o', 'jsonpath={.spec.replicas}', ...k]))
        .stdout,
    ).toBe('3');
    expect(
      (
        await runCli([
          'get',
          'cm',
          '-n',
          'g',
          '-o',
          'jsonpath={range .items[*]}{.metadata.name}={.data.a}{"\\n"}{end}',
          ...k,
        ])
      ).stdout,
    ).toBe('alpha=1\nbeta-longer-name=1\n');
    expect(
      (await runCli(['get', 'cm', '-n', 'g', '-o', 'jsonpath={.items[*].metadata.name}', ...k]))
        .stdout,
    ).toBe('alpha beta-longer-name');
  });

  it('resolves every kubectl short name and plural through discovery', async () => {
    for (const t of [
      'po',
      'deploy',
      'rs',
      'ds',
      'svc',
      'ep',
      'no',
      'ns',
      'cm',
      'secret',
      'ev',
      'job',
      'pods',
      'Deployment',
      'deployments.apps',
    ]) {
      const r = await runCli(['get', t, ...k]);
      expect(r.code, `${t}: ${r.stderr}`).toBe(0);
    }
    expect((await runCli(['get', 'po', ...k])).stderr).toBe(
      'No resources found in default namespace.\n',
    );
    expect((await runCli(['get', 'no', ...k])).stderr).toBe('No resources found\n');
  });

  it('reports an unknown kind, a missing object and a bad output format', async () => {
    expect(await runCli(['get', 'widgets', ...k])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: the server doesn\'t have a resource type "widgets"\n',
    });
    expect(await runCli(['get', 'deploy', 'nope', '-n', 'g', ...k])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: deployments.apps "nope" not found\n',
    });
    const partly = await runCli(['get', 'cm', 'alpha', 'nope', '-n', 'g', '-o', 'name', ...k]);
    expect(partly).toEqual({
      code: 1,
      stdout: 'configmap/alpha\n',
      stderr: 'error: configmaps "nope" not found\n',
    });
    const bad = await runCli(['get', 'cm', '-o', 'xml', ...k]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: unknown output format "xml"/);
    const usage = await runCli(['get', ...k]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/missing required argument 'type'/);
  });

  it('streams new rows with -w', async () => {
    const ac = new AbortController();
    let seen = '';
    const run = runCli(['get', 'cm', '-n', 'g', '-w', ...k], {
      signal: ac.signal,
      onOut: (s) => (seen = s),
    });
    try {
      await expect.poll(() => seen, { timeout: 10_000 }).toMatch(/beta-longer-name/);
      const applied = await runCli(['apply', '-f', '-', ...k], {
        stdin:
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gamma\n  namespace: g\ndata: {x: y}\n',
      });
      expect(applied.code).toBe(0);
      await expect.poll(() => seen, { timeout: 10_000 }).toMatch(/\ngamma +1 +\S+\n$/);
    } finally {
      ac.abort();
    }
    const r = await run;
    expect(r.code).toBe(0);
    const lines = maskAge(r.stdout).split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'NAME               DATA   AGE',
      'alpha              2      <age>',
      'beta-longer-name   1      <age>',
    ]);
    expect(lines[3]).toMatch(/^gamma              1      \S+$/);
  });
});
