// End to end, issue 4: the scheduler and controllers with real agents on
// three network-namespace hosts. Deployments spread, roll, roll back; a pod
// that fits nowhere says why; DaemonSets cover every node; Jobs complete;
// and when a host dies its pods come back elsewhere.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { Lab } from '../support/hosts.js';
import type { TestControlplane } from '../support/controlplane.js';
import { runcContainers, type TestAgent } from '../support/agents.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';

const run = promisify(execFile);
let cluster: TestCluster | undefined;
let lab: Lab;
let cp: TestControlplane;
let agents: TestAgent[] = [];
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let batch: k8s.BatchV1Api;
let image: string;
let image2: string;

const POLL = { timeout: 90_000, interval: 250 };
const NS = 'default';

function deployment(name: string, replicas: number, img: string): k8s.V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'main',
              image: img,
              command: ['sh', '-c', 'sleep 3600'],
              resources: { requests: { cpu: '10m', memory: '8Mi' } },
            },
          ],
        },
      },
    },
  };
}

async function podsOf(selector: string): Promise<k8s.V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: NS, labelSelector: selector })).items;
}

function running(pods: k8s.V1Pod[]): k8s.V1Pod[] {
  return pods.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
}

beforeAll(async () => {
  cluster = await startTestCluster({
    hosts: 3,
    imageTags: ['latest', 'v2'],
    controlplane: {
      controllers: true,
      // Short enough that the dead-host test fits in a test run.
      nodeMonitorGracePeriodMs: 12_000,
      podEvictionTimeoutMs: 3_000,
    },
  });
  ({ lab, cp, agents, image, core } = cluster);
  image2 = `${cluster.registry.host}/busybox:v2`;
  apps = cluster.kubeconfig.makeApiClient(k8s.AppsV1Api);
  batch = cluster.kubeconfig.makeApiClient(k8s.BatchV1Api);
}, 240_000);

afterAll(async () => {
  for (const d of ['web', 'roll'])
    await apps.deleteNamespacedDeployment({ namespace: NS, name: d }).catch(() => undefined);
  if (core)
    await core
      .deleteCollectionNamespacedPod({ namespace: NS, gracePeriodSeconds: 0 })
      .catch(() => undefined);
  // The dead-host test takes a link down: up again, so its agent can stop cleanly.
  for (const a of agents) await lab?.setLink(a.host, true).catch(() => undefined);
  await cluster?.stop();
}, 180_000);

describe('scheduler and controllers on three hosts', () => {
  it('spreads a Deployment of 6 replicas 2/2/2 and reports it rolled out', async () => {
    await apps.createNamespacedDeployment({ namespace: NS, body: deployment('web', 6, image) });
    await expect.poll(async () => running(await podsOf('app=web')).length, POLL).toBe(6);
    const perNode = new Map<string, number>();
    for (const p of running(await podsOf('app=web')))
      perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
    expect([...perNode.values()].sort()).toEqual([2, 2, 2]);
    const { stdout } = await run('kubectl', [
      '--kubeconfig',
      cp.kubeconfigPath,
      'rollout',
      'status',
      'deploy/web',
      '--timeout=60s',
    ]);
    expect(stdout).toMatch(/successfully rolled out/);
  });

  it('rolls to a new image without dropping below replicas − maxUnavailable, then rolls back', async () => {
    await apps.createNamespacedDeployment({ namespace: NS, body: deployment('roll', 3, image) });
    await expect.poll(async () => running(await podsOf('app=roll')).length, POLL).toBe(3);
    let minAvailable = Infinity;
    const watching = setInterval(() => {
      void apps.readNamespacedDeployment({ namespace: NS, name: 'roll' }).then(
        (d) => {
          minAvailable = Math.min(minAvailable, d.status?.availableReplicas ?? 0);
        },
        () => undefined,
      );
    }, 100);
    try {
      await apps.patchNamespacedDeployment(
        {
          namespace: NS,
          name: 'roll',
          body: { spec: { template: { spec: { containers: [{ name: 'main', image: image2 }] } } } },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      );
      await run('kubectl', [
        '--kubeconfig',
        cp.kubeconfigPath,
        'rollout',
        'status',
        'deploy/roll',
        '--timeout=90s',
      ]);
    } finally {
      clearInterval(watching);
    }
    expect(minAvailable).toBeGreaterThanOrEqual(2);
    const rolled = running(await podsOf('app=roll'));
    expect(rolled.every((p) => p.spec?.containers[0]?.image === image2)).toBe(true);

    await run('kubectl', ['--kubeconfig', cp.kubeconfigPath, 'rollout', 'undo', 'deploy/roll']);
    await run('kubectl', [
      '--kubeconfig',
      cp.kubeconfigPath,
      'rollout',
      'status',
      'deploy/roll',
      '--timeout=90s',
    ]);
    await expect
      .poll(async () => {
        const pods = running(await podsOf('app=roll'));
        return pods.length === 3 && pods.every((p) => p.spec?.containers[0]?.image === image);
      }, POLL)
      .toBe(true);
  });

  it('keeps a pod that fits nowhere Pending, saying why', async () => {
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'huge' },
        spec: { containers: [{ name: 'c', image, resources: { requests: { memory: '4000Gi' } } }] },
      },
    });
    await expect
      .poll(
        async () =>
          (await core.readNamespacedPod({ namespace: NS, name: 'huge' })).status?.conditions?.find(
            (c) => c.type === 'PodScheduled',
          )?.message,
        POLL,
      )
      .toBe('0/3 nodes are available: 3 Insufficient memory.');
    const pod = await core.readNamespacedPod({ namespace: NS, name: 'huge' });
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.reason).toBe(
      'Unschedulable',
    );
    await core.deleteNamespacedPod({ namespace: NS, name: 'huge' });
  });

  it('runs one DaemonSet pod on each node', async () => {
    await apps.createNamespacedDaemonSet({
      namespace: NS,
      body: {
        metadata: { name: 'everywhere' },
        spec: {
          selector: { matchLabels: { app: 'everywhere' } },
          template: {
            metadata: { labels: { app: 'everywhere' } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [{ name: 'c', image, command: ['sleep', '3600'] }],
            },
          },
        },
      },
    });
    await expect
      .poll(
        async () =>
          new Set(running(await podsOf('app=everywhere')).map((p) => p.spec?.nodeName)).size,
        POLL,
      )
      .toBe(3);
    await apps.deleteNamespacedDaemonSet({ namespace: NS, name: 'everywhere' });
  });

  it('completes a Job of 5 completions, 2 at a time', async () => {
    await batch.createNamespacedJob({
      namespace: NS,
      body: {
        metadata: { name: 'count' },
        spec: {
          completions: 5,
          parallelism: 2,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'c', image, command: ['sh', '-c', 'sleep 1'] }],
            },
          },
        },
      },
    });
    await expect
      .poll(
        async () =>
          (
            await batch.readNamespacedJob({ namespace: NS, name: 'count' })
          ).status?.conditions?.find((c) => c.type === 'Complete')?.status,
        POLL,
      )
      .toBe('True');
    const job = await batch.readNamespacedJob({ namespace: NS, name: 'count' });
    expect(job.status?.succeeded).toBe(5);
    await batch.deleteNamespacedJob({
      namespace: NS,
      name: 'count',
      propagationPolicy: 'Background',
    });
  });

  it('when a host dies its pods run elsewhere, and when it returns its old containers stop', async () => {
    const victim = agents[0]!;
    const before = running(await podsOf('app=web')).filter(
      (p) => p.spec?.nodeName === victim.nodeName,
    );
    expect(before.length).toBeGreaterThan(0);
    await victim.kill9();
    await lab.setLink(victim.host, false);
    await expect
      .poll(
        async () => {
          const pods = running(await podsOf('app=web'));
          return pods.length === 6 && pods.every((p) => p.spec?.nodeName !== victim.nodeName);
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBe(true);
    // The host comes back: its agent learns those pods are no longer its own and stops them.
    await lab.setLink(victim.host, true);
    await victim.restart();
    await expect
      .poll(
        async () =>
          (await runcContainers(victim)).filter((id) =>
            before.some((p) => id.startsWith(p.metadata!.uid!)),
          ).length,
        POLL,
      )
      .toBe(0);
  });
});
