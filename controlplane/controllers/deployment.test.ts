// Deployment controller against a real etcd and registry: single reconciles
// with their actions asserted, and whole rollouts with the ReplicaSet
// controller running and a fake kubelet reporting pods ready one at a time.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import type { WatchHandle } from '../store/types.js';
import {
  DeploymentController,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
} from './deployment.js';
import { ReplicaSetController } from './replicaset.js';
import type { ControllerDeps } from './types.js';
import { isPodReady, rec, selects } from './pod-control.js';
import {
  DEPLOYMENTS,
  EVENTS,
  FakeKubelet,
  PODS,
  REPLICASETS,
  depsFor,
  newNamespace,
  podTemplate,
  rolloutStatus,
  startCluster,
  until,
  type Cluster,
} from './workloads.fixture.js';

let cluster: Cluster;
let deps: ControllerDeps | undefined;
let running: { stop(): Promise<void> }[] = [];
let watches: WatchHandle[] = [];

beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await cluster?.close();
});
afterEach(async () => {
  for (const c of running) await c.stop();
  running = [];
  for (const w of watches) await w.close();
  watches = [];
  await deps?.informers.stop();
  deps = undefined;
});

function deployment(
  ns: string,
  o: { replicas?: number; image?: string; spec?: Record<string, unknown> } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: 'web' } },
      template: podTemplate({ app: 'web' }, o.image),
      ...o.spec,
    },
  };
}

const rsList = async (ns: string): Promise<KubeObject[]> =>
  (await cluster.registry.list(REPLICASETS, ns)).items;
const getD = (ns: string): Promise<KubeObject> => cluster.registry.get(DEPLOYMENTS, ns, 'web');
const cachedD = (ns: string): KubeObject | undefined =>
  deps?.informers.forResource(DEPLOYMENTS).get(`${ns}/web`);
const condition = (d: KubeObject, type: string): Record<string, unknown> | undefined =>
  (rec(d.status).conditions as Record<string, unknown>[] | undefined)?.find((c) => c.type === type);

async function setImage(ns: string, image: string): Promise<void> {
  await cluster.registry.patch(DEPLOYMENTS, ns, 'web', 'merge', {
    spec: {
      template: { spec: { containers: [{ name: 'app', image, command: ['sleep', '3600'] }] } },
    },
  });
}

/** Both controllers running, as the controller manager runs them. */
async function startLive(): Promise<{ ns: string }> {
  const ns = await newNamespace(cluster.registry);
  deps = depsFor(cluster.registry);
  const rsc = new ReplicaSetController(deps);
  const dc = new DeploymentController(deps);
  await deps.informers.start();
  await rsc.start();
  await dc.start();
  running = [dc, rsc];
  return { ns };
}

/** Lets the fake kubelet move one pod at a time until `kubectl rollout status` would say done. */
async function driveRollout(ns: string, kubelet: FakeKubelet): Promise<KubeObject> {
  for (let i = 0; i < 2000; i++) {
    const d = await getD(ns);
    const pods = (await cluster.registry.list(PODS, ns)).items;
    if (rolloutStatus(d).done && pods.every((p) => !p.metadata.deletionTimestamp)) return d;
    const moved = await kubelet.step();
    await new Promise((r) => setTimeout(r, moved ? 15 : 40));
  }
  throw new Error(`rollout did not finish: ${rolloutStatus(await getD(ns)).message}`);
}

/** Watches the namespace's pods and calls check with all of them after every change. */
async function watchPods(
  ns: string,
  check: (pods: KubeObject[], ev: { type: string; object: KubeObject }) => void,
): Promise<void> {
  // Start from a list, then watch from its revision: the check never sees a half-filled map.
  const initial = await cluster.registry.list(PODS, ns);
  const pods = new Map(initial.items.map((p) => [p.metadata.name ?? '', p]));
  watches.push(
    await cluster.registry.watch(
      PODS,
      ns,
      { resourceVersion: String(initial.revision) },
      {
        onEvent: (ev) => {
          if (ev.type === 'DELETED') pods.delete(ev.object.metadata.name ?? '');
          else pods.set(ev.object.metadata.name ?? '', ev.object);
          check([...pods.values()], ev);
        },
        onError: () => undefined,
      },
    ),
  );
}

describe('DeploymentController: one reconcile', () => {
  it('first rollout creates <name>-<hash> with the hash label, revision 1 and the full count', async () => {
    const ns = await newNamespace(cluster.registry);
    deps = depsFor(cluster.registry);
    const dc = new DeploymentController(deps);
    running = [dc];
    await deps.informers.start();
    const d = await cluster.registry.create(DEPLOYMENTS, ns, deployment(ns));
    await until('deployment in cache', () => cachedD(ns) !== undefined);
    cluster.registry.take();

    await dc.reconcile(`${ns}/web`);

    const actions = cluster.registry.take();
    const creates = actions.filter((a) => a.verb === 'create');
    expect(creates).toHaveLength(1);
    const rs = creates[0]!.body as KubeObject;
    const hash = rs.metadata.labels?.['pod-template-hash'] ?? '';
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rec(rs.spec).selector).toEqual({
      matchLabels: { app: 'web', 'pod-template-hash': hash },
    });
    expect(rec(rec(rec(rs.spec).template).metadata).labels).toEqual({
      app: 'web',
      'pod-template-hash': hash,
    });
    expect(rec(rs.spec).replicas).toBe(3);
    expect(rs.metadata.annotations).toMatchObject({
      [REVISION_ANNOTATION]: '1',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
    expect(rs.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        uid: d.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(actions.filter((a) => a.verb === 'patch' && a.resource === 'deployments')).toHaveLength(
      1,
    );

    const live = await getD(ns);
    expect(live.metadata.annotations?.[REVISION_ANNOTATION]).toBe('1');
    expect(condition(live, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetCreated',
    });
    expect(condition(live, 'Available')).toMatchObject({
      status: 'False',
      reason: 'MinimumReplicasUnavailable',
    });
    expect(rolloutStatus(live)).toEqual({
      message:
        'Waiting for deployment "web" rollout to finish: 0 out of 3 new replicas have been updated...',
      done: false,
    });
    await until('ScalingReplicaSet event', async () =>
      (await cluster.registry.list(EVENTS, ns)).items.some(
        (e) => e.message === `Scaled up replica set web-${hash} to 3`,
      ),
    );
  });

  it('paused: no new ReplicaSet for a new template, but scaling still works', async () => {
    const ns = await newNamespace(cluster.registry);
    deps = depsFor(cluster.registry);
    const dc = new DeploymentController(deps);
    running = [dc];
    await deps.informers.start();
    await cluster.registry.create(DEPLOYMENTS, ns, deployment(ns, { replicas: 2 }));
    await until('deployment in cache', () => cachedD(ns) !== undefined);
    await dc.reconcile(`${ns}/web`);
    await until(
      'rs in cache',
      () =>
        deps!.informers.forResource(REPLICASETS).list((r) => r.metadata.namespace === ns).length ===
        1,
    );
    await cluster.registry.patch(DEPLOYMENTS, ns, 'web', 'merge', {
      spec: { paused: true, replicas: 3 },
    });
    await setImage(ns, 'busybox:1.37');
    await until(
      'changes in cache',
      () => rec(cachedD(ns)?.spec).paused === true && (cachedD(ns)?.metadata.generation ?? 0) >= 3,
    );
    cluster.registry.take();

    await dc.reconcile(`${ns}/web`);

    const actions = cluster.registry.take();
    expect(actions.filter((a) => a.verb === 'create')).toEqual([]);
    const rsUpdates = actions.filter((a) => a.resource === 'replicasets' && a.verb === 'update');
    expect(rsUpdates.map((a) => rec(rec(a.body).spec).replicas)).toEqual([3]);
    const rss = await rsList(ns);
    expect(rss).toHaveLength(1);
    const live = await getD(ns);
    expect(condition(live, 'Progressing')).toMatchObject({
      status: 'Unknown',
      reason: 'DeploymentPaused',
      message: 'Deployment is paused',
    });
    expect(rec(live.status)).toMatchObject({
      updatedReplicas: 0,
      observedGeneration: live.metadata.generation,
    });
  });

  it('reports ProgressDeadlineExceeded when the rollout stalls past progressDeadlineSeconds', async () => {
    const ns = await newNamespace(cluster.registry);
    deps = depsFor(cluster.registry);
    const t0 = new Date('2030-01-01T00:00:00Z');
    let now = t0;
    const dc = new DeploymentController(deps, { now: () => now });
    running = [dc];
    await deps.informers.start();
    await cluster.registry.create(
      DEPLOYMENTS,
      ns,
      deployment(ns, { replicas: 1, spec: { progressDeadlineSeconds: 60 } }),
    );
    await until('deployment in cache', () => cachedD(ns) !== undefined);
    await dc.reconcile(`${ns}/web`);
    const cacheCaughtUp = async (): Promise<boolean> =>
      cachedD(ns)?.metadata.resourceVersion === (await getD(ns)).metadata.resourceVersion &&
      deps!.informers.forResource(REPLICASETS).list((r) => r.metadata.namespace === ns).length ===
        1;
    await until('status and rs in cache', cacheCaughtUp);

    now = new Date(t0.getTime() + 30_000);
    await dc.reconcile(`${ns}/web`);
    expect(condition(await getD(ns), 'Progressing')).toMatchObject({
      reason: 'NewReplicaSetCreated',
    });
    await until('cache caught up', cacheCaughtUp);

    now = new Date(t0.getTime() + 61_000);
    await dc.reconcile(`${ns}/web`);
    const live = await getD(ns);
    expect(condition(live, 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
    expect(() => rolloutStatus(live)).toThrow('deployment "web" exceeded its progress deadline');
  });
});

describe('DeploymentController: rollouts', () => {
  it('rolls a new template within maxUnavailable, rolls back with `rollout undo`, prunes history', async () => {
    const { ns } = await startLive();
    const kubelet = new FakeKubelet(cluster.registry, ns);
    await cluster.registry.create(
      DEPLOYMENTS,
      ns,
      deployment(ns, {
        replicas: 4,
        spec: {
          revisionHistoryLimit: 1,
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } },
        },
      }),
    );
    let d = await driveRollout(ns, kubelet);
    expect(rolloutStatus(d).message).toBe('deployment "web" successfully rolled out');
    expect(condition(d, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetAvailable',
    });
    expect(condition(d, 'Available')).toMatchObject({
      status: 'True',
      reason: 'MinimumReplicasAvailable',
    });
    expect(rec(d.status)).toMatchObject({
      replicas: 4,
      updatedReplicas: 4,
      readyReplicas: 4,
      availableReplicas: 4,
      unavailableReplicas: 0,
    });
    const [rs1] = await rsList(ns);

    // From here on, count available pods after every change: never below 4 − 1.
    let minAvailable = Infinity;
    let maxPods = 0;
    await watchPods(ns, (pods) => {
      const available = pods.filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          isPodReady(p) &&
          selects([{ key: 'app', operator: 'Equals', values: ['web'] }], p.metadata.labels),
      ).length;
      minAvailable = Math.min(minAvailable, available);
      maxPods = Math.max(maxPods, pods.filter((p) => !p.metadata.deletionTimestamp).length);
    });
    await setImage(ns, 'busybox:1.37');
    d = await driveRollout(ns, kubelet);
    expect(minAvailable).toBeGreaterThanOrEqual(3);
    expect(maxPods).toBeLessThanOrEqual(5);
    let rss = await rsList(ns);
    expect(rss).toHaveLength(2);
    const rs2 = rss.find((r) => r.metadata.uid !== rs1!.metadata.uid)!;
    expect(rs2.metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
    expect(rec(rs2.spec).replicas).toBe(4);
    expect(rec(rss.find((r) => r.metadata.uid === rs1!.metadata.uid)!.spec).replicas).toBe(0);
    expect(d.metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
    const events = (await cluster.registry.list(EVENTS, ns)).items.map((e) => String(e.message));
    expect(events).toContain(`Scaled up replica set ${rs2.metadata.name ?? ''} to 1`);
    expect(
      events.some((m) => m.startsWith(`Scaled down replica set ${rs1!.metadata.name ?? ''} to `)),
    ).toBe(true);

    // kubectl rollout undo: replace spec.template with revision 1's (hash label dropped, as Go serializes it).
    const template = structuredClone(rec(rs1!.spec).template) as {
      metadata: { labels: Record<string, string>; creationTimestamp?: null };
    };
    delete template.metadata.labels['pod-template-hash'];
    template.metadata.creationTimestamp = null;
    const annotations: Record<string, string> = {
      [REVISION_ANNOTATION]: d.metadata.annotations?.[REVISION_ANNOTATION] ?? '',
    };
    await cluster.registry.patch(DEPLOYMENTS, ns, 'web', 'json', [
      { op: 'replace', path: '/spec/template', value: template },
      { op: 'replace', path: '/metadata/annotations', value: annotations },
    ]);
    minAvailable = Infinity;
    d = await driveRollout(ns, kubelet);
    expect(minAvailable).toBeGreaterThanOrEqual(3);
    rss = await rsList(ns);
    const back = rss.find((r) => r.metadata.uid === rs1!.metadata.uid)!;
    expect(back.metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
    expect(back.metadata.annotations?.[REVISION_HISTORY_ANNOTATION]).toBe('1');
    expect(rec(back.spec).replicas).toBe(4);
    expect(d.metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
    expect(rss).toHaveLength(2);

    // A third template: revision 4; with revisionHistoryLimit 1 only one old ReplicaSet stays (revision 3's).
    await setImage(ns, 'busybox:1.38');
    d = await driveRollout(ns, kubelet);
    await until('history pruned', async () => (await rsList(ns)).length === 2);
    rss = await rsList(ns);
    expect(rss.map((r) => r.metadata.annotations?.[REVISION_ANNOTATION]).sort()).toEqual([
      '3',
      '4',
    ]);
    expect(d.metadata.annotations?.[REVISION_ANNOTATION]).toBe('4');
  });

  it('Recreate scales the old ReplicaSet to zero and creates the new one only after its pods are gone', async () => {
    const { ns } = await startLive();
    const kubelet = new FakeKubelet(cluster.registry, ns);
    await cluster.registry.create(
      DEPLOYMENTS,
      ns,
      deployment(ns, { replicas: 2, spec: { strategy: { type: 'Recreate' } } }),
    );
    await driveRollout(ns, kubelet);
    const [rs1] = await rsList(ns);
    const oldHash = rs1!.metadata.labels?.['pod-template-hash'];

    const violations: string[] = [];
    let newPodsSeen = 0;
    await watchPods(ns, (pods, ev) => {
      const hash = ev.object.metadata.labels?.['pod-template-hash'];
      if (ev.type !== 'ADDED' || hash === oldHash) return;
      newPodsSeen++;
      const old = pods.filter((p) => p.metadata.labels?.['pod-template-hash'] === oldHash);
      if (old.length > 0)
        violations.push(
          `${ev.object.metadata.name ?? ''} created while ${old.length} old pods exist`,
        );
    });
    await setImage(ns, 'busybox:1.37');
    const d = await driveRollout(ns, kubelet);
    expect(violations).toEqual([]);
    expect(newPodsSeen).toBe(2);
    expect(rolloutStatus(d).done).toBe(true);
    expect(d.metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
    const events = (await cluster.registry.list(EVENTS, ns)).items.map((e) => String(e.message));
    expect(events).toContain(`Scaled down replica set ${rs1!.metadata.name ?? ''} to 0 from 2`);
  });
});
