// End to end, real parts: a control plane, a docker-registry holding the
// busybox image, and two `shoal agent` processes on two network-namespace
// hosts running pods with runc.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import type { Lab } from '../support/hosts.js';
import type { TestRegistry } from '../support/registry.js';
import { mountsUnder, runcContainers, type TestAgent } from '../support/agents.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { agentPaths } from '../../nodeagent/paths.js';

let cluster: TestCluster | undefined;
let lab: Lab;
let registry: TestRegistry;
let agents: TestAgent[] = [];
let core: k8s.CoreV1Api;
let image: string;

const POLL = { timeout: 60_000, interval: 250 };

function pod(
  name: string,
  node: string,
  command: string[],
  extra: Partial<k8s.V1PodSpec> = {},
): k8s.V1Pod {
  return {
    metadata: { name },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'main', image, command }],
      ...extra,
    },
  };
}

async function readPod(name: string): Promise<k8s.V1Pod | undefined> {
  return core.readNamespacedPod({ namespace: 'default', name }).catch(() => undefined);
}

beforeAll(async () => {
  cluster = await startTestCluster({ hosts: 2 });
  ({ lab, registry, agents, image, core } = cluster);
}, 180_000);

afterAll(async () => {
  // Pods first, so agents tear down what they made; then whatever is left, by force.
  if (core)
    await core
      .deleteCollectionNamespacedPod({ namespace: 'default', gracePeriodSeconds: 0 })
      .catch(() => undefined);
  await cluster?.stop();
}, 120_000);

describe('node agents', () => {
  it('register their hosts as Ready nodes with capacity, addresses and pod CIDRs', async () => {
    const nodes = (await core.listNode()).items;
    expect(nodes.map((n) => n.metadata?.name).sort()).toEqual(lab.hosts.map((h) => h.name).sort());
    for (const n of nodes) {
      const host = lab.hosts.find((h) => h.name === n.metadata?.name)!;
      expect(n.metadata?.labels?.['kubernetes.io/hostname']).toBe(host.name);
      expect(n.metadata?.labels?.['kubernetes.io/os']).toBe('linux');
      expect(n.status?.addresses).toContainEqual({ type: 'InternalIP', address: host.ip });
      expect(Number(n.status?.capacity?.pods)).toBe(110);
      expect(n.spec?.podCIDR).toMatch(/^10\.244\.\d+\.0\/24$/);
      expect(n.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^runc:\/\//);
    }
    expect(new Set(nodes.map((n) => n.spec?.podCIDR)).size).toBe(2);
  });

  it('run pods on the host they are bound to, with an IP, and serve their logs', async () => {
    const [h1, h2] = lab.hosts;
    await core.createNamespacedPod({
      namespace: 'default',
      body: pod('hello-1', h1!.name, ['sh', '-c', 'echo hello from $(hostname); sleep 3600']),
    });
    await core.createNamespacedPod({
      namespace: 'default',
      body: pod('hello-2', h2!.name, ['sh', '-c', 'echo hello from $(hostname); sleep 3600']),
    });
    for (const [name, host] of [
      ['hello-1', h1!],
      ['hello-2', h2!],
    ] as const) {
      await expect.poll(async () => (await readPod(name))?.status?.phase, POLL).toBe('Running');
      const p = (await readPod(name))!;
      expect(p.status?.hostIP).toBe(host.ip);
      expect(p.status?.podIP).toMatch(/^10\.244\./);
      expect(p.status?.containerStatuses?.[0]?.ready).toBe(true);
      expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      await expect
        .poll(() => core.readNamespacedPodLog({ namespace: 'default', name }).catch(() => ''), POLL)
        .toContain(`hello from ${name}`);
    }
    const a1 = agents.find((a) => a.nodeName === h1!.name)!;
    expect((await runcContainers(a1)).some((id) => id.includes('main'))).toBe(true);
  });

  it('restarts a crashing container with backoff and reports CrashLoopBackOff', async () => {
    await core.createNamespacedPod({
      namespace: 'default',
      body: pod('crasher', lab.hosts[0]!.name, ['sh', '-c', 'echo boom; exit 3']),
    });
    await expect
      .poll(
        async () => (await readPod('crasher'))?.status?.containerStatuses?.[0]?.restartCount ?? 0,
        POLL,
      )
      .toBeGreaterThanOrEqual(1);
    await expect
      .poll(
        async () =>
          (await readPod('crasher'))?.status?.containerStatuses?.[0]?.state?.waiting?.reason,
        POLL,
      )
      .toBe('CrashLoopBackOff');
    const st = (await readPod('crasher'))!.status!.containerStatuses![0]!;
    expect(st.lastState?.terminated?.exitCode).toBe(3);
    expect(st.lastState?.terminated?.reason).toBe('Error');
    // The log of an exited container can still be read, as kubectl logs does.
    expect(await core.readNamespacedPodLog({ namespace: 'default', name: 'crasher' })).toContain(
      'boom',
    );
  });

  it('reports ErrImagePull for a missing image while other pods run', async () => {
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        ...pod('bad-image', lab.hosts[1]!.name, ['sh']),
        spec: {
          nodeName: lab.hosts[1]!.name,
          containers: [{ name: 'main', image: `${registry.host}/nope:missing` }],
        },
      },
    });
    await expect
      .poll(
        async () =>
          (await readPod('bad-image'))?.status?.containerStatuses?.[0]?.state?.waiting?.reason,
        POLL,
      )
      .toMatch(/^(ErrImagePull|ImagePullBackOff)$/);
    const msg =
      (await readPod('bad-image'))!.status!.containerStatuses![0]!.state!.waiting!.message ?? '';
    expect(msg).toMatch(/manifest unknown|not found/i);
    expect((await readPod('hello-2'))?.status?.phase).toBe('Running');
  });

  it('an agent killed with -9 and restarted re-adopts its running containers', async () => {
    const a1 = agents.find((a) => a.nodeName === lab.hosts[0]!.name)!;
    const before = (await readPod('hello-1'))!.status!.containerStatuses![0]!;
    const containersBefore = await runcContainers(a1);
    await a1.kill9();
    // The containers do not notice.
    expect(await runcContainers(a1)).toEqual(containersBefore);
    await a1.restart();
    await new Promise((r) => setTimeout(r, 3000));
    await expect.poll(async () => (await readPod('hello-1'))?.status?.phase, POLL).toBe('Running');
    const after = (await readPod('hello-1'))!.status!.containerStatuses![0]!;
    expect(after.restartCount).toBe(before.restartCount);
    expect(after.containerID).toBe(before.containerID);
    expect(after.state?.running?.startedAt).toEqual(before.state?.running?.startedAt);
  });

  it('deleting pods stops them and leaves no container, mount, namespace or file behind', async () => {
    const all = (await core.listNamespacedPod({ namespace: 'default' })).items.map(
      (p) => p.metadata!.name!,
    );
    for (const name of all) await core.deleteNamespacedPod({ namespace: 'default', name });
    await expect
      .poll(async () => (await core.listNamespacedPod({ namespace: 'default' })).items.length, POLL)
      .toBe(0);
    for (const a of agents) {
      await expect.poll(() => runcContainers(a), POLL).toEqual([]);
      // What an agent keeps while it runs: its tmpfs and the netns directory's own bind mount.
      const paths = agentPaths(a.dataDir);
      const kept = [paths.run, join(paths.network, 'netns')];
      const leftovers = (await mountsUnder(a.dataDir)).filter((m) => !kept.includes(m));
      expect(leftovers).toEqual([]);
      for (const dir of [paths.bundles, paths.pods, join(paths.network, 'netns')])
        expect(await readdir(dir)).toEqual([]);
    }
  });
});
