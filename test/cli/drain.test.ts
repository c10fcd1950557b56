// `shoal cordon|uncordon|drain` and the pods/eviction subresource they use,
// against a real control plane (no controllers, no agents: the test plays the
// kubelet where a pod must finish terminating), and `kubectl drain` against the
// same server.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../cli/commands/client.js';
import { ApiStatusError } from '../../cli/commands/errors.js';
import { drainVerdict } from '../../cli/commands/drain.js';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { waitFor } from '../support/wait.js';
import { runCli } from './harness.js';

const run = promisify(execFile);

let cp: TestControlplane;
let k: string[];
let api: KubeClient;
let cacheDir: string;

type Obj = Record<string, unknown>;

async function createNode(name: string): Promise<void> {
  await api.request({
    method: 'POST',
    path: '/api/v1/nodes',
    body: { apiVersion: 'v1', kind: 'Node', metadata: { name } },
  });
}

interface PodSpec {
  name: string;
  node: string;
  owner?: { kind: string; name: string };
  emptyDir?: boolean;
  grace?: number;
  ns?: string;
}

async function createPod(p: PodSpec): Promise<void> {
  await api.request({
    method: 'POST',
    path: `/api/v1/namespaces/${p.ns ?? 'default'}/pods`,
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: p.name,
        ...(p.owner
          ? {
              ownerReferences: [
                {
                  apiVersion: 'apps/v1',
                  kind: p.owner.kind,
                  name: p.owner.name,
                  uid: `uid-${p.owner.name}`,
                  controller: true,
                },
              ],
            }
          : {}),
      },
      spec: {
        nodeName: p.node,
        terminationGracePeriodSeconds: p.grace ?? 30,
        containers: [{ name: 'c', image: 'busybox' }],
        ...(p.emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {}),
      },
    },
  });
}

async function createDaemonSet(name: string): Promise<void> {
  await api.request({
    method: 'POST',
    path: '/apis/apps/v1/namespaces/default/daemonsets',
    body: {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
    },
  });
}

async function podNames(node: string): Promise<string[]> {
  const list = await api.request<{ items: Obj[] }>({
    path: '/api/v1/pods',
    query: { fieldSelector: `spec.nodeName=${node}` },
  });
  return list.items.map((p) => String((p.metadata as Obj).name)).sort();
}

async function getPod(name: string): Promise<Obj | undefined> {
  try {
    return await api.request<Obj>({ path: `/api/v1/namespaces/default/pods/${name}` });
  } catch (err) {
    if (err instanceof ApiStatusError && err.code === 404) return undefined;
    throw err;
  }
}

async function unschedulable(node: string): Promise<boolean> {
  const n = await api.request<Obj>({ path: `/api/v1/nodes/${node}` });
  return (n.spec as Obj | undefined)?.unschedulable === true;
}

async function kubectl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('kubectl', ['--kubeconfig', cp.kubeconfigPath, '--cache-dir', cacheDir, ...args], {
    timeout: 60_000,
  });
}

beforeAll(async () => {
  cp = await startTestControlplane();
  k = ['--kubeconfig', cp.kubeconfigPath];
  api = KubeClient.connect(
    { kubeconfig: cp.kubeconfigPath },
    {
      out: () => undefined,
      err: () => undefined,
      readStdin: () => Promise.resolve(''),
      env: {},
      isTTY: false,
    },
  );
  cacheDir = await mkdtemp(join(tmpdir(), 'shoal-drain-kubectl-'));
});
afterAll(async () => {
  await cp?.stop();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

describe('pods/eviction', () => {
  it('is in discovery as policy/v1 Eviction with verb create', async () => {
    const v1 = await api.request<{ resources: Obj[] }>({ path: '/api/v1' });
    expect(v1.resources.find((r) => r.name === 'pods/eviction')).toEqual({
      name: 'pods/eviction',
      singularName: '',
      namespaced: true,
      group: 'policy',
      version: 'v1',
      kind: 'Eviction',
      verbs: ['create'],
    });
  });

  it('validates the body and names the field', async () => {
    await createNode('ev');
    await createPod({ name: 'ev-a', node: 'ev', grace: 30 });
    const post = (body: unknown) =>
      api.request({ method: 'POST', path: '/api/v1/namespaces/default/pods/ev-a/eviction', body });
    await expect(post({ apiVersion: 'policy/v1', kind: 'Pod' })).rejects.toMatchObject({
      code: 400,
      message: expect.stringMatching(/^kind: expected "Eviction"/) as unknown,
    });
    await expect(
      post({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'other' } }),
    ).rejects.toMatchObject({
      code: 422,
      message: expect.stringContaining('metadata.name') as unknown,
    });
    await expect(
      post({
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: 'ev-a', namespace: 'elsewhere' },
      }),
    ).rejects.toMatchObject({
      code: 422,
      message: expect.stringContaining('metadata.namespace') as unknown,
    });
    await expect(
      api.request({
        method: 'POST',
        path: '/api/v1/namespaces/default/pods/missing/eviction',
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'missing' } },
      }),
    ).rejects.toMatchObject({ code: 404 });
    // Nothing changed.
    expect((await getPod('ev-a'))?.metadata).not.toHaveProperty('deletionTimestamp');
  });

  it('deletes gracefully with the Eviction deleteOptions and answers 201 Success', async () => {
    const status = await api.request({
      method: 'POST',
      path: '/api/v1/namespaces/default/pods/ev-a/eviction',
      body: {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: 'ev-a' },
        deleteOptions: { gracePeriodSeconds: 7 },
      },
    });
    expect(status).toMatchObject({ kind: 'Status', status: 'Success', code: 201 });
    const pod = await getPod('ev-a');
    // Bound to a node: the node's agent finishes the delete; until then it is terminating.
    expect(pod?.metadata).toMatchObject({ deletionGracePeriodSeconds: 7 });
    await api.request({
      method: 'DELETE',
      path: '/api/v1/namespaces/default/pods/ev-a',
      query: { gracePeriodSeconds: 0 },
    });
  });
});

describe('cordon and uncordon', () => {
  it('sets and clears spec.unschedulable with kubectl messages', async () => {
    await createNode('c1');
    let r = await runCli(['cordon', 'c1', ...k]);
    expect(r).toMatchObject({ code: 0, stdout: 'node/c1 cordoned\n' });
    expect(await unschedulable('c1')).toBe(true);
    r = await runCli(['cordon', 'c1', ...k]);
    expect(r.stdout).toBe('node/c1 already cordoned\n');
    r = await runCli(['uncordon', 'c1', ...k]);
    expect(r).toMatchObject({ code: 0, stdout: 'node/c1 uncordoned\n' });
    expect(await unschedulable('c1')).toBe(false);
    r = await runCli(['uncordon', 'c1', ...k]);
    expect(r.stdout).toBe('node/c1 already uncordoned\n');
  });

  it('names a missing node and exits 1; usage errors exit 2', async () => {
    const r = await runCli(['cordon', 'nope', ...k]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: nodes "nope" not found\n');
    expect((await runCli(['cordon', ...k])).code).toBe(2);
    expect((await runCli(['drain', 'x', '--grace-period', 'soon', ...k])).code).toBe(2);
  });

  it('--help shows examples', async () => {
    const r = await runCli(['drain', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('shoal drain node-1 --ignore-daemonsets');
    expect(r.stdout).toContain('--delete-emptydir-data');
  });
});

describe('drain', () => {
  beforeAll(async () => {
    await createNode('d1');
    await createDaemonSet('agent');
    await createPod({ name: 'web-1', node: 'd1', owner: { kind: 'ReplicaSet', name: 'web-rs' } });
    await createPod({ name: 'ds-1', node: 'd1', owner: { kind: 'DaemonSet', name: 'agent' } });
    await createPod({ name: 'bare', node: 'd1' });
    await createPod({
      name: 'cache',
      node: 'd1',
      owner: { kind: 'ReplicaSet', name: 'web-rs' },
      emptyDir: true,
    });
  });

  it('refuses DaemonSet, unmanaged and emptyDir pods with kubectl messages, evicting none', async () => {
    const r = await runCli(['drain', 'd1', ...k]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('node/d1 cordoned\n');
    expect(r.stderr).toBe(
      'error: unable to drain node "d1" due to error: [' +
        'cannot delete Pods that declare no controller (use --force to override): default/bare, ' +
        'cannot delete Pods with local storage (use --delete-emptydir-data to override): default/cache, ' +
        'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/ds-1]\n',
    );
    const only = await runCli(['drain', 'd1', '--ignore-daemonsets', '--force', ...k]);
    expect(only.stderr).toBe(
      'error: unable to drain node "d1" due to error: cannot delete Pods with local storage (use --delete-emptydir-data to override): default/cache\n',
    );
    expect(await podNames('d1')).toEqual(['bare', 'cache', 'ds-1', 'web-1']);
    for (const name of ['bare', 'cache', 'web-1'])
      expect((await getPod(name))?.metadata).not.toHaveProperty('deletionTimestamp');
  });

  it('times out naming the pod when pods do not terminate', async () => {
    const r = await runCli([
      'drain',
      'd1',
      '--ignore-daemonsets',
      '--force',
      '--delete-emptydir-data',
      '--timeout',
      '1s',
      ...k,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('evicting pod default/web-1\n');
    expect(r.stderr).toMatch(
      /error: error when waiting for pod "(bare|cache|web-1)" in namespace "default" to terminate: global timeout reached: 1s\n$/,
    );
    // Evicted: terminating with the pod's own grace period, waiting for its kubelet.
    expect((await getPod('web-1'))?.metadata).toMatchObject({ deletionGracePeriodSeconds: 30 });
  });

  it('evicts, waits until the pods are gone and keeps DaemonSet pods', async () => {
    await createNode('d4');
    await createPod({ name: 'web-4', node: 'd4', owner: { kind: 'ReplicaSet', name: 'web-rs' } });
    await createPod({ name: 'ds-4', node: 'd4', owner: { kind: 'DaemonSet', name: 'agent' } });
    await createPod({ name: 'bare-4', node: 'd4' });
    await createPod({
      name: 'cache-4',
      node: 'd4',
      owner: { kind: 'ReplicaSet', name: 'web-rs' },
      emptyDir: true,
    });
    const evicted = ['bare-4', 'cache-4', 'web-4'];
    const drained = runCli([
      'drain',
      'd4',
      '--ignore-daemonsets',
      '--force',
      '--delete-emptydir-data',
      ...k,
    ]);
    // Play the kubelet: once drain has evicted them (terminating, 30 s grace),
    // the pods finish terminating, and drain sees them gone.
    await waitFor(
      'the evictions',
      () => Promise.all(evicted.map(getPod)),
      (pods) => pods.every((p) => (p?.metadata as Obj | undefined)?.deletionTimestamp),
    );
    for (const name of evicted) {
      await api.request({
        method: 'DELETE',
        path: `/api/v1/namespaces/default/pods/${name}`,
        query: { gracePeriodSeconds: 0 },
      });
    }
    const r = await drained;
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(0, 1)).toEqual(['node/d4 cordoned']);
    expect(r.stdout.split('\n').slice(1, 4).sort()).toEqual(evicted.map((n) => `pod/${n} evicted`));
    expect(r.stdout.endsWith('\nnode/d4 drained\n')).toBe(true);
    expect(r.stderr).toBe(
      'Warning: deleting Pods that declare no controller: default/bare-4; ' +
        'deleting Pods with local storage: default/cache-4; ' +
        'ignoring DaemonSet-managed Pods: default/ds-4\n' +
        evicted.map((n) => `evicting pod default/${n}\n`).join(''),
    );
    expect(await podNames('d4')).toEqual(['ds-4']);
  });

  it('--grace-period 0 --disable-eviction deletes at once', async () => {
    await createNode('d2');
    await createPod({ name: 'web-2', node: 'd2', owner: { kind: 'ReplicaSet', name: 'web-rs' } });
    const r = await runCli(['drain', 'd2', '--grace-period', '0', '--disable-eviction', ...k]);
    expect(r).toMatchObject({
      code: 0,
      stdout: 'node/d2 cordoned\npod/web-2 deleted\nnode/d2 drained\n',
    });
    expect(await podNames('d2')).toEqual([]);
  });

  it('kubectl drain evicts through pods/eviction', async () => {
    await createNode('d3');
    await createPod({ name: 'web-3', node: 'd3', owner: { kind: 'ReplicaSet', name: 'web-rs' } });
    await createPod({ name: 'ds-3', node: 'd3', owner: { kind: 'DaemonSet', name: 'agent' } });
    const r = await kubectl('drain', 'd3', '--ignore-daemonsets', '--grace-period=0', '-v=6');
    expect(r.stdout).toContain('node/d3 cordoned');
    expect(r.stdout).toContain('pod/web-3 evicted');
    expect(r.stdout).toContain('node/d3 drained');
    expect(r.stderr).toMatch(
      /POST https:\/\/\S+\/api\/v1\/namespaces\/default\/pods\/web-3\/eviction 201/,
    );
    expect(await podNames('d3')).toEqual(['ds-3']);
    expect(await unschedulable('d3')).toBe(true);
    await kubectl('uncordon', 'd3');
    expect(await unschedulable('d3')).toBe(false);
  });
});

describe('drainVerdict', () => {
  const opts = { ignoreDaemonsets: false, deleteEmptydirData: false, force: false };
  it.each([
    ['a mirror pod', { metadata: { annotations: { 'kubernetes.io/config.mirror': 'x' } } }, 'skip'],
    ['a finished unmanaged pod', { status: { phase: 'Succeeded' } }, 'delete'],
    ['an unmanaged running pod', { status: { phase: 'Running' } }, 'refuse'],
    [
      'a ReplicaSet pod',
      { metadata: { ownerReferences: [{ kind: 'ReplicaSet', name: 'r', controller: true }] } },
      'delete',
    ],
  ])('%s: %s', (_what, pod, action) => {
    expect(drainVerdict(pod, opts, true).action).toBe(action);
  });
});
