// DaemonSet controller: fixture on a real etcd → one reconcile → the writes it sent.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { isRecord } from '../api/objects.js';
import {
  DaemonSetController,
  REVISION_HASH_LABEL,
  placementOf,
  targetNodeOf,
  withDaemonTolerations,
} from './daemonset.js';
import {
  DAEMONSETS,
  NODES,
  PODS,
  createNamespace,
  newFixture,
  podsIn,
  setPodStatus,
  useHarness,
  type Action,
  type Fixture,
} from './workload-test-fixture.js';

// Nodes are cluster-wide: each test brings its own.
const h = useHarness({
  afterEach: async (harness) => {
    const { items } = await harness.api.list(NODES, undefined);
    for (const n of items) await harness.api.delete(NODES, undefined, n.metadata.name!);
  },
});
let f: Fixture | undefined;

const node = (
  name: string,
  labels: Record<string, string> = {},
  taints: unknown[] = [],
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  spec: taints.length > 0 ? { taints } : {},
});

const daemonSet = (
  name: string,
  spec: Record<string, unknown> = {},
  image = 'busybox:1.36',
): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'main', image }], ...spec },
    },
  },
});

async function setup(
  ns: string,
  nodes: KubeObject[],
  ds: KubeObject,
): Promise<DaemonSetController> {
  await createNamespace(h.api, ns);
  for (const n of nodes) await h.api.create(NODES, undefined, n);
  await h.api.create(DAEMONSETS, ns, ds);
  f = newFixture(h);
  const c = f.track(new DaemonSetController(f.deps));
  await f.start();
  await f.settle(NODES, DAEMONSETS, PODS);
  return c;
}

/** One reconcile on a settled cache; returns the writes it made. */
async function step(c: DaemonSetController, key: string): Promise<Action[]> {
  await f!.settle(NODES, DAEMONSETS, PODS);
  f!.registry.take();
  await c.reconcile(key);
  return f!.registry.take();
}

describe('DaemonSet controller', () => {
  it('creates one unbound pod per eligible node, pinned by node affinity, with the daemon tolerations', async () => {
    const ns = 'ds-basic';
    const c = await setup(
      ns,
      [
        node('a1', { role: 'edge' }),
        node('a2', { role: 'edge' }, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]),
        node('a3', { role: 'core' }),
        // Tolerated by the toleration Kubernetes adds to every daemon pod.
        node('a4', { role: 'edge' }, [
          { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' },
        ]),
        node('a5', { role: 'edge' }, [{ key: 'gpu', value: 'yes', effect: 'NoExecute' }]),
      ],
      daemonSet('agent', { nodeSelector: { role: 'edge' } }),
    );
    const actions = await step(c, `${ns}/agent`);
    const creates = actions.filter((a) => a.verb === 'create' && a.resource === 'pods');
    expect(creates).toHaveLength(2);
    const targets = creates.map((a) => targetNodeOf(a.object!)).sort();
    expect(targets).toEqual(['a1', 'a4']);
    for (const a of creates) {
      const pod = a.object!;
      const spec = pod.spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test-side JSON access
      expect(spec.nodeName).toBeUndefined();
      expect(
        spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
      ).toEqual([
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: [targetNodeOf(pod)] }] },
      ]);
      expect(spec.tolerations).toContainEqual({
        key: 'node.kubernetes.io/unreachable',
        operator: 'Exists',
        effect: 'NoExecute',
      });
      expect(pod.metadata.labels?.[REVISION_HASH_LABEL]).toMatch(/^[a-z0-9]+$/);
      expect(pod.metadata.ownerReferences?.[0]).toMatchObject({
        kind: 'DaemonSet',
        name: 'agent',
        controller: true,
        blockOwnerDeletion: true,
      });
    }
    expect(f!.events.recorded.filter((e) => e.reason === 'SuccessfulCreate')).toHaveLength(2);

    // The next reconcile sees both pods and writes only the status.
    const again = await step(c, `${ns}/agent`);
    expect(
      again.map((a) => `${a.verb} ${a.resource}${a.subresource ? '/' + a.subresource : ''}`),
    ).toEqual(['update daemonsets/status']);
    expect(again[0]!.object!.status).toMatchObject({
      desiredNumberScheduled: 2,
      currentNumberScheduled: 2,
      numberMisscheduled: 0,
      numberReady: 0,
      numberAvailable: 0,
      updatedNumberScheduled: 2,
      numberUnavailable: 2,
      observedGeneration: 1,
    });
    // Converged: nothing more to write.
    expect(await step(c, `${ns}/agent`)).toEqual([]);
  });

  it('gives a new node a pod and removes the pod from a node that stops matching', async () => {
    const ns = 'ds-nodes';
    const c = await setup(ns, [node('b1'), node('b2')], daemonSet('agent'));
    await step(c, `${ns}/agent`);
    expect(await podsIn(h.api, ns)).toHaveLength(2);

    await h.api.create(NODES, undefined, node('b3'));
    const created = await step(c, `${ns}/agent`);
    const podCreates = created.filter((a) => a.verb === 'create');
    expect(podCreates.map((a) => targetNodeOf(a.object!))).toEqual(['b3']);

    // An untolerated NoExecute taint evicts the daemon pod.
    const b1 = await h.api.get(NODES, undefined, 'b1');
    await h.api.update(NODES, undefined, 'b1', {
      ...b1,
      spec: { taints: [{ key: 'maintenance', effect: 'NoExecute' }] },
    });
    const evicted = await step(c, `${ns}/agent`);
    const deletes = evicted.filter((a) => a.verb === 'delete' && a.resource === 'pods');
    expect(deletes).toHaveLength(1);
    const pods = await podsIn(h.api, ns);
    expect(pods.map(targetNodeOf).sort()).toEqual(['b2', 'b3']);
  });

  it('rolls a new template out without more than maxUnavailable pods down', async () => {
    const ns = 'ds-roll';
    const nodes = ['c1', 'c2', 'c3', 'c4'];
    const ds = daemonSet('agent');
    (ds.spec as Record<string, unknown>).updateStrategy = {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 2 },
    };
    const c = await setup(
      ns,
      nodes.map((n) => node(n)),
      ds,
    );
    const key = `${ns}/agent`;
    await step(c, key);
    let ip = 10;
    const markAllReady = async (): Promise<void> => {
      for (const p of await podsIn(h.api, ns)) {
        if (!isRecord(p.status) || p.status.podIP === undefined) {
          await setPodStatus(h.api, p, { phase: 'Running', ready: true, podIP: `10.1.0.${ip++}` });
        }
      }
    };
    await markAllReady();
    await step(c, key);
    const oldHash = (await podsIn(h.api, ns))[0]!.metadata.labels?.[REVISION_HASH_LABEL];

    const current = await h.api.get(DAEMONSETS, ns, 'agent');
    const next = structuredClone(current);
    (next.spec as any).template.spec.containers[0].image = 'busybox:1.37'; // eslint-disable-line @typescript-eslint/no-explicit-any -- test-side JSON access
    await h.api.update(DAEMONSETS, ns, 'agent', next);

    let rounds = 0;
    const deletesPerRound: number[] = [];
    for (;;) {
      const actions = await step(c, key);
      const deletes = actions.filter((a) => a.verb === 'delete' && a.resource === 'pods');
      const pods = await podsIn(h.api, ns);
      const readyNew = pods.filter(
        (p) =>
          p.metadata.labels?.[REVISION_HASH_LABEL] !== oldHash &&
          isRecord(p.status) &&
          Array.isArray(p.status.conditions) &&
          p.status.conditions.some((x) => isRecord(x) && x.type === 'Ready' && x.status === 'True'),
      );
      const readyOld = pods.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === oldHash);
      // Never more than maxUnavailable (2) of the 4 nodes without a ready daemon pod.
      expect(nodes.length - readyNew.length - readyOld.length).toBeLessThanOrEqual(2);
      expect(deletes.length).toBeLessThanOrEqual(2);
      deletesPerRound.push(deletes.length);
      if (readyNew.length === nodes.length) break;
      await markAllReady();
      expect(++rounds).toBeLessThan(20);
    }
    // Every old pod replaced once, two at a time.
    expect(deletesPerRound.filter((n) => n > 0)).toEqual([2, 2]);
    const final = await podsIn(h.api, ns);
    expect(final).toHaveLength(4);
    expect(new Set(final.map(targetNodeOf))).toEqual(new Set(nodes));
    await step(c, key);
    const status = (await h.api.get(DAEMONSETS, ns, 'agent')).status;
    expect(status).toMatchObject({
      updatedNumberScheduled: 4,
      numberReady: 4,
      numberAvailable: 4,
      desiredNumberScheduled: 4,
    });
  });
});

describe('placementOf', () => {
  const spec = { nodeSelector: { disk: 'ssd' } };
  const tolerations = withDaemonTolerations(spec);
  it.each([
    ['matching labels', node('x', { disk: 'ssd' }), true, true],
    ['other labels', node('x', { disk: 'hdd' }), false, false],
    [
      'untolerated NoSchedule: keeps a running pod',
      node('x', { disk: 'ssd' }, [{ key: 'k', effect: 'NoSchedule' }]),
      false,
      true,
    ],
    [
      'untolerated NoExecute',
      node('x', { disk: 'ssd' }, [{ key: 'k', effect: 'NoExecute' }]),
      false,
      false,
    ],
    [
      'PreferNoSchedule is ignored',
      node('x', { disk: 'ssd' }, [{ key: 'k', effect: 'PreferNoSchedule' }]),
      true,
      true,
    ],
    [
      'cordoned (unschedulable taint) is tolerated',
      node('x', { disk: 'ssd' }, [
        { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
      ]),
      true,
      true,
    ],
  ])('%s', (_name, n, shouldRun, shouldContinueRunning) => {
    expect(placementOf(spec, tolerations, n)).toEqual({ shouldRun, shouldContinueRunning });
  });

  it('honours required node affinity', () => {
    const withAffinity = {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] },
            ],
          },
        },
      },
    };
    expect(placementOf(withAffinity, [], node('x', { zone: 'b' })).shouldRun).toBe(true);
    expect(placementOf(withAffinity, [], node('x', { zone: 'c' })).shouldRun).toBe(false);
  });
});
