// Two `shoal controlplane` processes on one etcd: both serve the API, only
// the elected one runs the scheduler and controllers. kill -9 of the leader
// in the middle of a scale-up: the other takes over, and the end state is
// exact — every pod bound once, the ReplicaSet not one pod over.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp as copyDir, mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Etcd3 } from 'etcd3';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import { freePort } from '../../controlplane/etcd/ports.js';
import { waitFor } from '../support/wait.js';
import { SHOAL_CLI as SHOAL } from '../support/paths.js';

interface Replica {
  dataDir: string;
  child: ChildProcess;
  api: { core: k8s.CoreV1Api; apps: k8s.AppsV1Api };
}

let etcd: TestEtcd;
let dir: string;
const replicas: Replica[] = [];

async function startReplica(name: string, pkiFrom?: string): Promise<Replica> {
  const dataDir = join(dir, name);
  await mkdir(dataDir, { recursive: true });
  // Replicas share the cluster's identity: the same CA, certificates and tokens.
  if (pkiFrom) await copyDir(join(pkiFrom, 'pki'), join(dataDir, 'pki'), { recursive: true });
  const child = spawn(
    process.execPath,
    [
      SHOAL,
      'controlplane',
      '--data-dir',
      dataDir,
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--agent-listen',
      `127.0.0.1:${await freePort()}`,
      '--etcd-endpoints',
      etcd.endpoints.join(','),
      '--leader-lease-ttl',
      '3',
      // No agents here: the nodes are plain API objects that must not go stale during the test.
      '--node-monitor-grace-period',
      '600',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  const kubeconfig = join(dataDir, 'admin.kubeconfig');
  await waitFor(
    'the admin kubeconfig',
    () => readFile(kubeconfig, 'utf8'),
    (s) => s.length > 0,
    { timeoutMs: 60_000 },
  );
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = { core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api) };
  await waitFor(
    'the API',
    () => api.core.listNamespace(),
    () => true,
  );
  return { dataDir, child, api };
}

async function leaderPid(): Promise<number> {
  const client = new Etcd3({ hosts: etcd.endpoints });
  try {
    const identity = await client.get('/shoal/leader/shoal-controllers').string();
    return Number(identity?.split('_')[1] ?? NaN);
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  etcd = await startEtcd();
  dir = await mkdtemp(join(tmpdir(), 'shoal-ha-'));
  const first = await startReplica('a');
  replicas.push(first);
  replicas.push(await startReplica('b', first.dataDir));
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (const name of ['n1', 'n2', 'n3']) {
    await first.api.core.createNode({
      body: {
        metadata: { name, labels: { 'kubernetes.io/hostname': name } },
        status: {
          allocatable: { cpu: '8', memory: '32Gi', pods: '110' },
          capacity: { cpu: '8', memory: '32Gi', pods: '110' },
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              lastHeartbeatTime: now as unknown as Date,
              lastTransitionTime: now as unknown as Date,
            },
          ],
        },
      },
    });
  }
}, 120_000);

afterAll(async () => {
  for (const r of replicas) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill('SIGTERM');
      await new Promise((res) => r.child.once('exit', res));
    }
  }
  await etcd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('two control plane replicas', () => {
  it('survive kill -9 of the leader during a scale-up with the exact final state', async () => {
    const pid = await waitFor('a leader', leaderPid, (p) =>
      replicas.some((r) => r.child.pid === p),
    );
    const leader = replicas.find((r) => r.child.pid === pid)!;
    const follower = replicas.find((r) => r !== leader)!;

    const template = {
      metadata: { labels: { app: 'ha' } },
      spec: {
        containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '10m' } } }],
      },
    };
    await follower.api.apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'ha' },
        spec: { replicas: 10, selector: { matchLabels: { app: 'ha' } }, template },
      },
    });
    await waitFor(
      'the first pods',
      async () =>
        (await follower.api.core.listNamespacedPod({ namespace: 'default' })).items.length,
      (n) => n >= 5,
    );
    await follower.api.apps.patchNamespacedDeploymentScale(
      { namespace: 'default', name: 'ha', body: { spec: { replicas: 60 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    // Kill the leader while it is creating and binding.
    await waitFor(
      'the scale-up under way',
      async () =>
        (await follower.api.core.listNamespacedPod({ namespace: 'default' })).items.length,
      (n) => n >= 15,
    );
    leader.child.kill('SIGKILL');
    await new Promise((res) => leader.child.once('exit', res));

    await expect.poll(leaderPid, { timeout: 30_000 }).toBe(follower.child.pid);
    await expect
      .poll(
        async () => {
          const pods = (
            await follower.api.core.listNamespacedPod({
              namespace: 'default',
              labelSelector: 'app=ha',
            })
          ).items;
          return { total: pods.length, bound: pods.filter((p) => p.spec?.nodeName).length };
        },
        { timeout: 60_000, interval: 500 },
      )
      .toEqual({ total: 60, bound: 60 });
    // Settled: still exactly 60 a moment later, each on a node that exists.
    await new Promise((r) => setTimeout(r, 3000));
    const pods = (
      await follower.api.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=ha' })
    ).items;
    expect(pods).toHaveLength(60);
    expect(new Set(pods.map((p) => p.metadata?.name)).size).toBe(60);
    expect(pods.every((p) => ['n1', 'n2', 'n3'].includes(p.spec?.nodeName ?? ''))).toBe(true);
    const rs = (
      await follower.api.apps.listNamespacedReplicaSet({
        namespace: 'default',
        labelSelector: 'app=ha',
      })
    ).items;
    expect(rs).toHaveLength(1);
    expect(rs[0]?.spec?.replicas).toBe(60);
  });
});
