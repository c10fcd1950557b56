// `shoal apply` against a real control plane: result lines, ordering, inputs
// (files, directories, stdin, JSON, Lists), dry runs, pruning, conflicts,
// --wait, and every error path with its exit code.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { KubeClient } from '../../cli/commands/client.js';
import { runCli } from './harness.js';

let cp: TestControlplane;
let dir: string;
let client: KubeClient;
let k: string[];

beforeAll(async () => {
  cp = await startTestControlplane();
  dir = await mkdtemp(join(tmpdir(), 'shoal-cli-apply-'));
  k = ['--kubeconfig', cp.kubeconfigPath];
  client = KubeClient.connect(
    { kubeconfig: cp.kubeconfigPath },
    {
      out: () => undefined,
      err: () => undefined,
      readStdin: () => Promise.resolve(''),
      env: {},
      isTTY: false,
    },
  );
});
afterAll(async () => {
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cm = (name: string, ns: string, data: string, labels = ''): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n${labels ? `  labels: {${labels}}\n` : ''}data:\n  k: "${data}"\n`;

const deployment = (name: string, ns: string, replicas = 2): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: c
        image: busybox
`;

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function exists(path: string): Promise<boolean> {
  return client.request({ path }).then(
    () => true,
    () => false,
  );
}

describe('apply', () => {
  it('reports created, then unchanged, then configured', async () => {
    const f = await file(
      'cm.yaml',
      `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a1\n---\n${cm('one', 'a1', '1')}`,
    );
    expect(await runCli(['apply', '-f', f, ...k])).toEqual({
      code: 0,
      stdout: 'namespace/a1 created\nconfigmap/one created\n',
      stderr: '',
    });
    expect((await runCli(['apply', '-f', f, ...k])).stdout).toBe(
      'namespace/a1 unchanged\nconfigmap/one unchanged\n',
    );
    await writeFile(
      f,
      `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a1\n---\n${cm('one', 'a1', '2')}`,
    );
    expect((await runCli(['apply', '-f', f, ...k])).stdout).toBe(
      'namespace/a1 unchanged\nconfigmap/one configured\n',
    );
    const got = await client.request<{
      data: { k: string };
      metadata: { managedFields: { manager: string; operation: string }[] };
    }>({
      path: '/api/v1/namespaces/a1/configmaps/one',
    });
    expect(got.data.k).toBe('2');
    expect(got.metadata.managedFields.map((m) => `${m.manager}:${m.operation}`)).toContain(
      'shoal:Apply',
    );
  });

  it('creates Namespaces, then ConfigMaps and Secrets, then the rest, whatever the file order', async () => {
    const f = await file(
      'ordered.yaml',
      [
        deployment('web', 'a2'),
        cm('page', 'a2', 'x'),
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: a2\nstringData:\n  p: q\n',
        'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a2\n',
      ].join('---\n'),
    );
    const r = await runCli(['apply', '-f', f, ...k]);
    expect(r).toEqual({
      code: 0,
      stdout:
        'namespace/a2 created\nconfigmap/page created\nsecret/s created\ndeployment.apps/web created\n',
      stderr: '',
    });
  });

  it('reads stdin, JSON files, Lists, and directories (-R to descend)', async () => {
    await runCli(['apply', '-f', '-', ...k], {
      stdin: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a3\n',
    });
    const d = join(dir, 'tree');
    await mkdir(join(d, 'sub'), { recursive: true });
    await writeFile(join(d, 'a.yaml'), cm('top', 'a3', '1'));
    await writeFile(
      join(d, 'b.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'j1', namespace: 'a3' } },
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'j2', namespace: 'a3' } },
        ],
      }),
    );
    await writeFile(join(d, 'notes.txt'), 'not a manifest');
    await writeFile(join(d, 'sub', 'c.yml'), cm('deep', 'a3', '1'));
    expect((await runCli(['apply', '-f', d, ...k])).stdout).toBe(
      'configmap/top created\nconfigmap/j1 created\nconfigmap/j2 created\n',
    );
    expect((await runCli(['apply', '-f', d, '-R', ...k])).stdout).toBe(
      'configmap/top unchanged\nconfigmap/j1 unchanged\nconfigmap/j2 unchanged\nconfigmap/deep created\n',
    );
    const viaStdin = await runCli(['apply', '-f', '-', ...k], { stdin: cm('piped', 'a3', '1') });
    expect(viaStdin.stdout).toBe('configmap/piped created\n');
  });

  it('applies into -n, or the namespace the file names, and refuses a mismatch', async () => {
    await runCli(['apply', '-f', '-', ...k], {
      stdin: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a4\n',
    });
    const r = await runCli(['apply', '-f', '-', '-n', 'a4', ...k], {
      stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nsless\n',
    });
    expect(r.stdout).toBe('configmap/nsless created\n');
    expect(await exists('/api/v1/namespaces/a4/configmaps/nsless')).toBe(true);
    const bad = await runCli(['apply', '-f', '-', '-n', 'a4', ...k], { stdin: cm('x', 'a1', '1') });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^error: STDIN:1:1: configmap\/x: the namespace from the provided object "a1" does not match the namespace "a4"/,
    );
  });

  it('dry runs write nothing', async () => {
    const f = await file('dry.yaml', cm('dry', 'default', '1'));
    expect(await runCli(['apply', '-f', f, '--dry-run=server', ...k])).toEqual({
      code: 0,
      stdout: 'configmap/dry created (server dry run)\n',
      stderr: '',
    });
    expect((await runCli(['apply', '-f', f, '--dry-run=client', ...k])).stdout).toBe(
      'configmap/dry created (dry run)\n',
    );
    expect(await exists('/api/v1/namespaces/default/configmaps/dry')).toBe(false);
    await runCli(['apply', '-f', f, ...k]);
    expect((await runCli(['apply', '-f', f, '--dry-run=server', ...k])).stdout).toBe(
      'configmap/dry unchanged (server dry run)\n',
    );
    await writeFile(f, cm('dry', 'default', '2'));
    expect((await runCli(['apply', '-f', f, '--dry-run=server', ...k])).stdout).toBe(
      'configmap/dry configured (server dry run)\n',
    );
    const still = await client.request<{ data: { k: string } }>({
      path: '/api/v1/namespaces/default/configmaps/dry',
    });
    expect(still.data.k).toBe('1');
  });

  it('prunes labelled objects of the applied kinds that the files no longer hold', async () => {
    await runCli(['apply', '-f', '-', ...k], {
      stdin: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a5\n',
    });
    const all = [
      cm('p1', 'a5', '1', 'app: p'),
      cm('p2', 'a5', '1', 'app: p'),
      cm('other', 'a5', '1', 'app: q'),
    ].join('---\n');
    await runCli(['apply', '-f', '-', ...k], { stdin: all });
    const f = await file('prune.yaml', cm('p1', 'a5', '1', 'app: p'));
    expect(
      (await runCli(['apply', '-f', f, '--prune', '-l', 'app=p', '--dry-run=server', ...k])).stdout,
    ).toBe('configmap/p1 unchanged (server dry run)\nconfigmap/p2 pruned (server dry run)\n');
    expect(await exists('/api/v1/namespaces/a5/configmaps/p2')).toBe(true);
    expect(await runCli(['apply', '-f', f, '--prune', '-l', 'app=p', ...k])).toEqual({
      code: 0,
      stdout: 'configmap/p1 unchanged\nconfigmap/p2 pruned\n',
      stderr: '',
    });
    expect(await exists('/api/v1/namespaces/a5/configmaps/p2')).toBe(false);
    expect(await exists('/api/v1/namespaces/a5/configmaps/other')).toBe(true);
    const usage = await runCli(['apply', '-f', f, '--prune', ...k]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--prune needs a label selector/);
  });

  it('reports field conflicts with another manager, and takes over with --force-conflicts', async () => {
    const other = await file('other.yaml', cm('owned', 'default', 'theirs'));
    expect(
      (await runCli(['apply', '-f', other, '--field-manager', 'someone-else', ...k])).code,
    ).toBe(0);
    const mine = await file('mine.yaml', cm('owned', 'default', 'mine'));
    const r = await runCli(['apply', '-f', mine, ...k]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(
      /^error: .*mine\.yaml:1:1: configmap\/owned: .*conflict.*someone-else/i,
    );
    expect((await runCli(['apply', '-f', mine, '--force-conflicts', ...k])).stdout).toBe(
      'configmap/owned configured\n',
    );
  });

  it('names the file, line and column of a YAML error, and applies nothing', async () => {
    const f = await file(
      'broken.yaml',
      `${cm('before', 'default', '1')}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a: b\n`,
    );
    const r = await runCli(['apply', '-f', f, ...k]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `error: ${f}:12:9: Nested mappings are not allowed in compact mappings\n`,
    );
    expect(await exists('/api/v1/namespaces/default/configmaps/before')).toBe(false);
  });

  it('reports manifests without kind or name by position', async () => {
    const f = await file(
      'nokind.yaml',
      `${cm('fine', 'default', '1')}---\napiVersion: v1\nmetadata:\n  name: x\n`,
    );
    const r = await runCli(['apply', '-f', f, ...k]);
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe(`error: ${f}:9:1: kind not set\n`);
  });

  it('reports an unknown kind and a rejected object by name, and applies the rest', async () => {
    const f = await file(
      'mixed.yaml',
      [
        'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n',
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers:\n  - name: c\n',
        cm('good', 'default', '1'),
      ].join('---\n'),
    );
    const r = await runCli(['apply', '-f', f, ...k]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('configmap/good created\n');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      `error: ${f}:1:1: widget/w: no matches for kind "Widget" in version "example.com/v1"`,
    );
    expect(lines[1]).toMatch(
      /^error: .*Pod "Bad_Name" is invalid: .*metadata\.name.*spec\.containers\[0\]\.image/,
    );
  });

  it('fails on a missing path, an unknown context, and a missing -f', async () => {
    const missing = await runCli(['apply', '-f', join(dir, 'nope.yaml'), ...k]);
    expect(missing).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: the path "${join(dir, 'nope.yaml')}" does not exist\n`,
    });
    const ctx = await runCli(['apply', '-f', '-', '--context', 'nope', ...k], {
      stdin: cm('c', 'default', '1'),
    });
    expect(ctx).toEqual({ code: 1, stdout: '', stderr: 'error: context "nope" does not exist\n' });
    const usage = await runCli(['apply', ...k]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/required option '-f, --filename <path...>' not specified/);
    const badDry = await runCli(['apply', '-f', '-', '--dry-run=maybe', ...k]);
    expect(badDry.code).toBe(2);
  });

  it('finds the kubeconfig through KUBECONFIG', async () => {
    const r = await runCli(['apply', '-f', '-'], {
      stdin: cm('fromenv', 'default', '1'),
      env: { KUBECONFIG: `${join(dir, 'absent')}:${cp.kubeconfigPath}` },
    });
    expect(r).toEqual({ code: 0, stdout: 'configmap/fromenv created\n', stderr: '' });
  });
});

describe('apply --wait', () => {
  beforeAll(async () => {
    await runCli(['apply', '-f', '-', ...k], {
      stdin: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: w\n',
    });
  });

  it('has nothing to wait for with ConfigMaps only', async () => {
    const r = await runCli(['apply', '-f', '-', '--wait', '--timeout', '5s', ...k], {
      stdin: cm('c', 'w', '1'),
    });
    expect(r).toEqual({ code: 0, stdout: 'configmap/c created\n', stderr: '' });
  });

  it('times out with the reason when a Deployment never becomes available', async () => {
    const r = await runCli(['apply', '-f', '-', '--wait', '--timeout', '2s', ...k], {
      stdin: deployment('slow', 'w'),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^deployment.apps\/slow created\ndeployment.apps\/slow: waiting for the controller/,
    );
    expect(r.stderr).toBe(
      'error: timed out waiting for deployment.apps/slow: waiting for the controller to observe the new spec\n',
    );
  });

  it('succeeds once the Deployment status says it is available', async () => {
    await runCli(['apply', '-f', '-', ...k], { stdin: deployment('ready', 'w', 2) });
    const path = '/apis/apps/v1/namespaces/w/deployments/ready';
    const d = await client.request<{ metadata: { generation: number } }>({ path });
    await client.request({
      method: 'PATCH',
      path: `${path}/status`,
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          observedGeneration: d.metadata.generation,
          replicas: 2,
          updatedReplicas: 2,
          readyReplicas: 2,
          availableReplicas: 2,
        },
      },
    });
    const r = await runCli(['apply', '-f', '-', '--wait', '--timeout', '10s', ...k], {
      stdin: deployment('ready', 'w', 2),
    });
    expect(r).toEqual({
      code: 0,
      stdout:
        'deployment.apps/ready unchanged\ndeployment.apps/ready ready: 2 of 2 replicas available\n',
      stderr: '',
    });
  });

  it("fails fast with a pod's ImagePullBackOff message", async () => {
    await runCli(['apply', '-f', '-', ...k], { stdin: deployment('pull', 'w', 1) });
    const path = '/apis/apps/v1/namespaces/w/deployments/pull';
    const d = await client.request<{ metadata: { generation: number } }>({ path });
    await client.request({
      method: 'PATCH',
      path: `${path}/status`,
      contentType: 'application/merge-patch+json',
      body: {
        status: { observedGeneration: d.metadata.generation, replicas: 1, updatedReplicas: 1 },
      },
    });
    await client.request({
      method: 'POST',
      path: '/api/v1/namespaces/w/pods',
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'pull-abc', labels: { app: 'pull' } },
        spec: { containers: [{ name: 'c', image: 'nope:1' }] },
      },
    });
    await client.request({
      method: 'PATCH',
      path: '/api/v1/namespaces/w/pods/pull-abc/status',
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          phase: 'Pending',
          containerStatuses: [
            {
              name: 'c',
              image: 'nope:1',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: {
                waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope:1"' },
              },
            },
          ],
        },
      },
    });
    const r = await runCli(['apply', '-f', '-', '--wait', '--timeout', '1m', ...k], {
      stdin: deployment('pull', 'w', 1),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: deployment.apps/pull failed: pod pull-abc: container c: ImagePullBackOff: Back-off pulling image "nope:1"\n',
    );
  });

  it("fails with a Job's Failed condition", async () => {
    const job = `apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  namespace: w\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox\n`;
    await runCli(['apply', '-f', '-', ...k], { stdin: job });
    await client.request({
      method: 'PATCH',
      path: '/apis/batch/v1/namespaces/w/jobs/j/status',
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          failed: 7,
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
            },
          ],
        },
      },
    });
    const r = await runCli(['apply', '-f', '-', '--wait', ...k], { stdin: job });
    expect(r.stderr).toBe(
      'error: job.batch/j failed: BackoffLimitExceeded: Job has reached the specified backoff limit\n',
    );
    expect(r.code).toBe(1);
  });
});
