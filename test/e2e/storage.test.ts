// End to end: data that outlives containers. Three network-namespace hosts
// with real agents and runc, a control plane with the scheduler and
// controllers. A claim of the built-in `local` class is provisioned on the
// node the scheduler picks; a replacement pod follows its data to that node;
// the data survives an agent crash and a control-plane restart; a
// StatefulSet's pods each get their own claim; deleting a claim removes its
// directory (Delete) or keeps it with the volume Released (Retain).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import * as k8s from '@kubernetes/client-node';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import type { TestAgent } from '../support/agents.js';
import {
  startTestCluster,
  type ClusterControlplane,
  type TestCluster,
} from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import {
  startControlplane,
  type RunningControlplane,
} from '../../controlplane/cmd/controlplane.js';

const run = promisify(execFile);
let cluster: TestCluster<ClusterControlplane> | undefined;
let etcd: TestEtcd;
let cpDir: string;
let cp: RunningControlplane | undefined;
let agents: TestAgent[] = [];
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let storage: k8s.StorageV1Api;
let image: string;

const NS = 'default';

async function startCp(agentListen: string): Promise<void> {
  cp = await startControlplane({
    dataDir: cpDir,
    listen: '127.0.0.1:0',
    agentListen,
    runControllers: true,
    leaderLeaseTtlSeconds: 3,
    etcdEndpoints: etcd.endpoints,
    logger: pino({ level: process.env.SHOAL_TEST_LOG ?? 'silent' }),
  });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  storage = kc.makeApiClient(k8s.StorageV1Api);
}

function pod(name: string, claim: string, script: string): k8s.V1Pod {
  return {
    metadata: { name, labels: { test: 'storage' } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'main',
          image,
          command: ['sh', '-c', `${script}; sleep 3600`],
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
    },
  };
}

function claim(name: string, storageClassName?: string): k8s.V1PersistentVolumeClaim {
  return {
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '64Mi' } },
      ...(storageClassName ? { storageClassName } : {}),
    },
  };
}

async function runningPod(name: string): Promise<k8s.V1Pod> {
  return waitFor(
    `pod ${name} Running`,
    () => core.readNamespacedPod({ namespace: NS, name }),
    (p) => p.status?.phase === 'Running',
    { timeoutMs: 120_000 },
  );
}

async function deletePod(name: string): Promise<void> {
  await core.deleteNamespacedPod({ namespace: NS, name, gracePeriodSeconds: 1 });
  await waitFor(
    `pod ${name} gone`,
    () =>
      core.readNamespacedPod({ namespace: NS, name }).then(
        () => false,
        () => true,
      ),
    (gone) => gone,
    { timeoutMs: 60_000 },
  );
}

/** The bound volume of a claim and its directory on the host. */
async function volumeOf(claimName: string): Promise<{ pv: k8s.V1PersistentVolume; dir: string }> {
  const pvc = await waitFor(
    `claim ${claimName} Bound`,
    () => core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: claimName }),
    (c) => c.status?.phase === 'Bound',
    { timeoutMs: 60_000 },
  );
  const pv = await core.readPersistentVolume({ name: pvc.spec!.volumeName! });
  return { pv, dir: pv.spec!.local!.path };
}

function nodeOf(pv: k8s.V1PersistentVolume): string {
  return pv.spec!.nodeAffinity!.required!.nodeSelectorTerms[0]!.matchExpressions![0]!.values![0]!;
}

beforeAll(async () => {
  cluster = await startTestCluster({
    hosts: 3,
    // Its own control plane: the test restarts it on the same data, etcd and agent port.
    startControlplane: async (agentListen) => {
      // Stops whichever control plane is running by then, then its etcd and data.
      const stop = async (): Promise<void> => {
        try {
          await cp?.stop();
          await etcd?.stop();
        } finally {
          if (cpDir) await rm(cpDir, { recursive: true, force: true });
        }
      };
      try {
        etcd = await startEtcd();
        cpDir = await mkdtemp(join(tmpdir(), 'shoal-cp-storage-'));
        await startCp(agentListen);
      } catch (err) {
        await stop();
        throw err;
      }
      const first = cp!;
      return {
        agentAddress: first.agentAddress,
        joinToken: first.joinToken,
        kubeconfigPath: first.kubeconfigPath,
        stop,
      };
    },
    agents: { readyTimeoutMs: 120_000 },
  });
  ({ agents, image } = cluster);
}, 240_000);

afterAll(async () => {
  if (core) {
    await apps?.deleteNamespacedStatefulSet({ namespace: NS, name: 'kv' }).catch(() => undefined);
    await core
      .deleteCollectionNamespacedPod({ namespace: NS, gracePeriodSeconds: 0 })
      .catch(() => undefined);
  }
  if (process.env.SHOAL_TEST_DEBUG) for (const a of agents) console.log(a.output());
  // Volumes live under each agent's data directory: scrubbing it removes them.
  await cluster?.stop();
}, 180_000);

describe('persistent volumes on three hosts', () => {
  it('has the built-in local class as the default', async () => {
    const sc = await storage.readStorageClass({ name: 'local' });
    expect(sc.provisioner).toBe('shoal.io/local');
    expect(sc.volumeBindingMode).toBe('WaitForFirstConsumer');
    expect(sc.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class']).toBe('true');
    const { stdout } = await run('kubectl', ['--kubeconfig', cp!.kubeconfigPath, 'get', 'sc']);
    expect(stdout).toMatch(
      /^local \(default\)\s+shoal\.io\/local\s+Delete\s+WaitForFirstConsumer\s+false\s/m,
    );
  });

  it('keeps a claim’s data across pods, an agent crash and a control-plane restart', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: NS, body: claim('notes') });
    const pending = await core.readNamespacedPersistentVolumeClaim({
      namespace: NS,
      name: 'notes',
    });
    expect(pending.spec?.storageClassName).toBe('local');
    expect(pending.status?.phase).toBe('Pending');

    await core.createNamespacedPod({
      namespace: NS,
      body: pod('writer', 'notes', 'echo hello > /data/file'),
    });
    const writer = await runningPod('writer');
    const { pv, dir } = await volumeOf('notes');
    expect(nodeOf(pv)).toBe(writer.spec!.nodeName);
    const agent = agents.find((a) => a.nodeName === writer.spec!.nodeName)!;
    expect(dir).toBe(join(agent.dataDir, 'volumes', pv.metadata!.name!));
    await waitFor(
      'the file on the host',
      () => Promise.resolve(existsSync(join(dir, 'file'))),
      (e) => e,
    );
    expect(await readFile(join(dir, 'file'), 'utf8')).toBe('hello\n');

    // The replacement follows its data to the same node.
    await deletePod('writer');
    await core.createNamespacedPod({
      namespace: NS,
      body: pod('reader', 'notes', 'cat /data/file > /data/seen'),
    });
    const reader = await runningPod('reader');
    expect(reader.spec!.nodeName).toBe(writer.spec!.nodeName);
    await waitFor(
      'reader saw the file',
      () => readFile(join(dir, 'seen'), 'utf8').catch(() => ''),
      (s) => s === 'hello\n',
    );

    // The agent crashes and comes back; the control plane restarts.
    const pid = agent.process.pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor(
      'agent process gone',
      () => Promise.resolve(agent.process.exitCode !== null || agent.process.signalCode !== null),
      (x) => x,
    );
    await agent.restart();
    const agentAddress = cp!.agentAddress;
    await cp!.stop();
    cp = undefined;
    await startCp(agentAddress);
    await waitFor(
      `node ${agent.nodeName} Ready again`,
      async () => (await core.readNode({ name: agent.nodeName })).status?.conditions,
      (cs) => cs?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      { timeoutMs: 120_000 },
    );
    expect(await readFile(join(dir, 'file'), 'utf8')).toBe('hello\n');
    await deletePod('reader');
    await core.createNamespacedPod({
      namespace: NS,
      body: pod('reader2', 'notes', 'cat /data/file > /data/seen2'),
    });
    const reader2 = await runningPod('reader2');
    expect(reader2.spec!.nodeName).toBe(writer.spec!.nodeName);
    await waitFor(
      'reader2 saw the file',
      () => readFile(join(dir, 'seen2'), 'utf8').catch(() => ''),
      (s) => s === 'hello\n',
    );
  }, 180_000);

  it('gives each StatefulSet pod its own claim on the node it runs on', async () => {
    await apps.createNamespacedStatefulSet({
      namespace: NS,
      body: {
        metadata: { name: 'kv' },
        spec: {
          replicas: 2,
          serviceName: 'kv',
          selector: { matchLabels: { app: 'kv' } },
          template: {
            metadata: { labels: { app: 'kv' } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'main',
                  image,
                  command: ['sh', '-c', 'hostname > /data/id; sleep 3600'],
                  volumeMounts: [{ name: 'data', mountPath: '/data' }],
                },
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: 'data' },
              spec: {
                accessModes: ['ReadWriteOnce'],
                resources: { requests: { storage: '32Mi' } },
              },
            },
          ],
        },
      },
    });
    await waitFor(
      'kv ready 2/2',
      () => apps.readNamespacedStatefulSet({ namespace: NS, name: 'kv' }),
      (s) => s.status?.readyReplicas === 2,
      { timeoutMs: 120_000 },
    );
    const rollout = await run('kubectl', [
      '--kubeconfig',
      cp!.kubeconfigPath,
      'rollout',
      'status',
      'sts/kv',
      '--timeout=60s',
    ]);
    expect(rollout.stdout).toMatch(/partitioned roll out complete|roll out complete/);
    const { stdout } = await run('kubectl', ['--kubeconfig', cp!.kubeconfigPath, 'get', 'pvc']);
    expect(stdout).toMatch(/^data-kv-0\s+Bound\s+pvc-\S+\s+32Mi\s+RWO\s+local\s/m);
    for (const i of [0, 1]) {
      const p = await core.readNamespacedPod({ namespace: NS, name: `kv-${i}` });
      const { pv, dir } = await volumeOf(`data-kv-${i}`);
      expect(nodeOf(pv)).toBe(p.spec!.nodeName);
      await waitFor(
        `kv-${i} wrote its id`,
        () => readFile(join(dir, 'id'), 'utf8').catch(() => ''),
        (s) => s === `kv-${i}\n`,
      );
    }
  }, 180_000);

  it('removes a Delete claim’s directory and volume; keeps a Retain one Released', async () => {
    // Delete (the local class): the StatefulSet goes, then one of its claims.
    const { pv, dir } = await volumeOf('data-kv-0');
    await apps.deleteNamespacedStatefulSet({ namespace: NS, name: 'kv' });
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: NS, name: 'data-kv-0' });
    await waitFor(
      'the volume of data-kv-0 gone',
      () =>
        core.readPersistentVolume({ name: pv.metadata!.name! }).then(
          () => false,
          () => true,
        ),
      (gone) => gone,
      { timeoutMs: 120_000 },
    );
    expect(existsSync(dir)).toBe(false);

    // Retain: a class of its own.
    await storage.createStorageClass({
      body: {
        metadata: { name: 'keep' },
        provisioner: 'shoal.io/local',
        reclaimPolicy: 'Retain',
        volumeBindingMode: 'WaitForFirstConsumer',
      },
    });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: claim('kept', 'keep'),
    });
    await core.createNamespacedPod({
      namespace: NS,
      body: pod('keeper', 'kept', 'echo mine > /data/file'),
    });
    await runningPod('keeper');
    const kept = await volumeOf('kept');
    await waitFor(
      'keeper wrote',
      () => readFile(join(kept.dir, 'file'), 'utf8').catch(() => ''),
      (s) => s === 'mine\n',
    );
    await deletePod('keeper');
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: NS, name: 'kept' });
    const released = await waitFor(
      'the kept volume Released',
      () => core.readPersistentVolume({ name: kept.pv.metadata!.name! }),
      (v) => v.status?.phase === 'Released',
      { timeoutMs: 60_000 },
    );
    expect(released.spec?.claimRef?.name).toBe('kept');
    expect(await readFile(join(kept.dir, 'file'), 'utf8')).toBe('mine\n');
    await core.deletePersistentVolume({ name: kept.pv.metadata!.name! });
    await storage.deleteStorageClass({ name: 'keep' });
  }, 180_000);
});
