// ReplicaSet controller: fixture → one reconcile → the actions it sent,
// against a real etcd and registry.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { ReplicaSetController } from './replicaset.js';
import type { ControllerDeps } from './types.js';
import {
  EVENTS,
  PODS,
  REPLICASETS,
  depsFor,
  markReady,
  newNamespace,
  podTemplate,
  startCluster,
  until,
  type Cluster,
} from './workloads.fixture.js';
import { rec } from './pod-control.js';

let cluster: Cluster;
let deps: ControllerDeps | undefined;
/** Controllers built by a test; stop() clears their queues' timers. */
let built: ReplicaSetController[] = [];

beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await cluster?.close();
});
afterEach(async () => {
  for (const c of built) await c.stop();
  built = [];
  await deps?.informers.stop();
  deps = undefined;
});

async function setup(): Promise<{ ns: string; rsc: ReplicaSetController }> {
  const ns = await newNamespace(cluster.registry);
  deps = depsFor(cluster.registry);
  const rsc = new ReplicaSetController(deps);
  built.push(rsc);
  await deps.informers.start();
  cluster.registry.take();
  return { ns, rsc };
}

function replicaSet(ns: string, replicas: number, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: podTemplate({ app: 'web' }),
      ...extra,
    },
  };
}

const podsIn = (ns: string) => async () => (await cluster.registry.list(PODS, ns)).items;

describe('ReplicaSetController', () => {
  it('scales 0 → 3 in slow-start batches of 1 and 2, with controller references', async () => {
    const { ns, rsc } = await setup();
    const rs = await cluster.registry.create(REPLICASETS, ns, replicaSet(ns, 3));
    await until(
      'rs in cache',
      () => deps!.informers.forResource(REPLICASETS).get(`${ns}/web`) !== undefined,
    );
    cluster.registry.take();

    await rsc.reconcile(`${ns}/web`);

    const actions = cluster.registry.take();
    const creates = actions.filter((a) => a.verb === 'create' && a.resource === 'pods');
    // Batch numbers relative to the first: one create alone, then two at once.
    const first = creates[0]?.batch ?? 0;
    expect(creates.map((a) => (a.batch ?? 0) - first)).toEqual([0, 1, 1]);
    for (const c of creates) {
      const meta = rec(rec(c.body).metadata);
      expect(meta.generateName).toBe('web-');
      expect(meta.labels).toEqual({ app: 'web' });
      expect(meta.ownerReferences).toEqual([
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web',
          uid: rs.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const statusWrites = actions.filter((a) => a.verb === 'update' && a.subresource === 'status');
    expect(statusWrites).toHaveLength(1);
    expect(rec(rec(statusWrites[0]?.body).status).observedGeneration).toBe(1);
    expect(await podsIn(ns)()).toHaveLength(3);

    // Once the cache holds them, the same reconcile writes status and nothing else.
    await until(
      'creates observed',
      () =>
        rsc.expectations.satisfied(`${ns}/web`) &&
        deps!.informers.forResource(PODS).list((p) => p.metadata.namespace === ns).length === 3,
    );
    await until(
      'rs status in cache',
      () =>
        rec(deps!.informers.forResource(REPLICASETS).get(`${ns}/web`)?.status)
          .observedGeneration === 1,
    );
    await rsc.reconcile(`${ns}/web`);
    const second = cluster.registry.take();
    expect(
      second.map((a) => `${a.verb} ${a.resource}${a.subresource ? '/' + a.subresource : ''}`),
    ).toEqual(['update replicasets/status']);
    expect(rec(rec(second[0]?.body).status)).toMatchObject({
      replicas: 3,
      fullyLabeledReplicas: 3,
      readyReplicas: 0,
    });

    await until('SuccessfulCreate events', async () => {
      const { items } = await cluster.registry.list(EVENTS, ns);
      return (
        items.filter(
          (e) =>
            e.reason === 'SuccessfulCreate' && String(e.message).startsWith('Created pod: web-'),
        ).length === 3
      );
    });
  });

  it('expectations keep a second reconcile from overshooting before the cache sees the creates', async () => {
    const ns = await newNamespace(cluster.registry);
    deps = depsFor(cluster.registry);
    const rsc = new ReplicaSetController(deps);
    built.push(rsc);
    // Only the ReplicaSet cache runs: the pods just created never reach the pod cache yet.
    await deps.informers.forResource(REPLICASETS).start();
    await cluster.registry.create(REPLICASETS, ns, replicaSet(ns, 3));
    await until(
      'rs in cache',
      () => deps!.informers.forResource(REPLICASETS).get(`${ns}/web`) !== undefined,
    );
    cluster.registry.take();

    await rsc.reconcile(`${ns}/web`);
    await rsc.reconcile(`${ns}/web`);
    expect(cluster.registry.take().filter((a) => a.verb === 'create')).toHaveLength(3);
    expect(rsc.expectations.pending(`${ns}/web`)).toEqual({ adds: 3, dels: 0 });

    await deps.informers.forResource(PODS).start();
    await until('creates observed', () => rsc.expectations.satisfied(`${ns}/web`));
    await rsc.reconcile(`${ns}/web`);
    expect(cluster.registry.take().filter((a) => a.verb === 'create')).toHaveLength(0);
    expect(await podsIn(ns)()).toHaveLength(3);
  });

  it('scales down by deleting the not-ready pod first', async () => {
    const { ns, rsc } = await setup();
    await cluster.registry.create(REPLICASETS, ns, replicaSet(ns, 3));
    await until(
      'rs in cache',
      () => deps!.informers.forResource(REPLICASETS).get(`${ns}/web`) !== undefined,
    );
    await rsc.reconcile(`${ns}/web`);
    const pods = await podsIn(ns)();
    expect(pods).toHaveLength(3);
    // The two oldest become ready; the newest stays Pending and is the one to go.
    const sorted = [...pods].sort((a, b) =>
      (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    );
    const pending = sorted[1]!;
    for (const p of sorted) if (p !== pending) await markReady(cluster.registry, p);
    await cluster.registry.patch(REPLICASETS, ns, 'web', 'merge', { spec: { replicas: 2 } });
    await until('cache caught up', () => {
      const cachedPods = deps!.informers.forResource(PODS).list((p) => p.metadata.namespace === ns);
      return (
        rsc.expectations.satisfied(`${ns}/web`) &&
        cachedPods.filter((p) => rec(p.status).phase === 'Running').length === 2 &&
        rec(deps!.informers.forResource(REPLICASETS).get(`${ns}/web`)?.spec).replicas === 2
      );
    });
    cluster.registry.take();

    await rsc.reconcile(`${ns}/web`);

    const deletes = cluster.registry.take().filter((a) => a.verb === 'delete');
    expect(deletes.map((a) => a.name)).toEqual([pending.metadata.name]);
    expect((await podsIn(ns)()).map((p) => p.metadata.name).sort()).toEqual(
      sorted
        .filter((p) => p !== pending)
        .map((p) => p.metadata.name)
        .sort(),
    );
  });

  it('adopts matching orphans and releases owned pods that stopped matching', async () => {
    const { ns, rsc } = await setup();
    const rs = await cluster.registry.create(REPLICASETS, ns, replicaSet(ns, 1));
    const orphan = await cluster.registry.create(PODS, ns, {
      metadata: { name: 'orphan', labels: { app: 'web' } },
      spec: rec(podTemplate({})).spec,
    });
    const stray = await cluster.registry.create(PODS, ns, {
      metadata: {
        name: 'stray',
        labels: { app: 'other' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: 'web',
            uid: rs.metadata.uid!,
            controller: true,
          },
        ],
      },
      spec: rec(podTemplate({})).spec,
    });
    const foreign = await cluster.registry.create(PODS, ns, {
      metadata: {
        name: 'foreign',
        labels: { app: 'web' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: 'x',
            uid: 'someone-else',
            controller: true,
          },
        ],
      },
      spec: rec(podTemplate({})).spec,
    });
    await until(
      'cache filled',
      () =>
        deps!.informers.forResource(PODS).list((p) => p.metadata.namespace === ns).length === 3 &&
        deps!.informers.forResource(REPLICASETS).get(`${ns}/web`) !== undefined,
    );
    cluster.registry.take();

    await rsc.reconcile(`${ns}/web`);

    const actions = cluster.registry.take();
    expect(actions.filter((a) => a.verb === 'create' || a.verb === 'delete')).toEqual([]);
    const patches = actions.filter((a) => a.verb === 'patch');
    expect(patches.map((a) => a.name).sort()).toEqual(['orphan', 'stray']);
    const adopted = await cluster.registry.get(PODS, ns, 'orphan');
    expect(adopted.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'web',
        uid: rs.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(
      (await cluster.registry.get(PODS, ns, 'stray')).metadata.ownerReferences,
    ).toBeUndefined();
    expect((await cluster.registry.get(PODS, ns, 'foreign')).metadata.ownerReferences).toEqual(
      foreign.metadata.ownerReferences,
    );
    const status = actions.find((a) => a.subresource === 'status');
    expect(rec(rec(status?.body).status).replicas).toBe(1);
    void orphan;
    void stray;
  });

  it('counts available replicas only after minReadySeconds', async () => {
    const ns = await newNamespace(cluster.registry);
    deps = depsFor(cluster.registry);
    const t0 = new Date('2030-01-01T00:00:00Z');
    let now = t0;
    const rsc = new ReplicaSetController(deps, { now: () => now });
    built.push(rsc);
    await deps.informers.start();
    await cluster.registry.create(REPLICASETS, ns, replicaSet(ns, 1, { minReadySeconds: 30 }));
    await until(
      'rs in cache',
      () => deps!.informers.forResource(REPLICASETS).get(`${ns}/web`) !== undefined,
    );
    await rsc.reconcile(`${ns}/web`);
    const [pod] = await podsIn(ns)();
    await markReady(cluster.registry, pod!, t0);
    await until(
      'ready pod in cache',
      () =>
        deps!.informers
          .forResource(PODS)
          .list((p) => p.metadata.namespace === ns && rec(p.status).phase === 'Running').length ===
        1,
    );

    now = new Date(t0.getTime() + 10_000);
    await rsc.reconcile(`${ns}/web`);
    let status = rec((await cluster.registry.get(REPLICASETS, ns, 'web')).status);
    expect(status).toMatchObject({ readyReplicas: 1, availableReplicas: 0 });

    await until(
      'status in cache',
      () =>
        rec(deps!.informers.forResource(REPLICASETS).get(`${ns}/web`)?.status).readyReplicas === 1,
    );
    now = new Date(t0.getTime() + 31_000);
    await rsc.reconcile(`${ns}/web`);
    status = rec((await cluster.registry.get(REPLICASETS, ns, 'web')).status);
    expect(status).toMatchObject({ readyReplicas: 1, availableReplicas: 1 });
  });
});
