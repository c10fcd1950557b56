// Garbage collector: a ReplicaSet with pods on a real etcd, deleted with each
// propagation policy; one reconcile at a time, asserting the writes it sent.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject, OwnerReference } from '../api/objects.js';
import { GarbageCollector } from './garbage-collector.js';
import {
  CONFIGMAPS,
  PODS,
  REPLICASETS,
  createNamespace,
  newFixture,
  podsIn,
  startHarness,
  type Action,
  type Fixture,
  type Harness,
} from './workload-test-fixture.js';

let h: Harness;
let f: Fixture | undefined;
let gc: GarbageCollector | undefined;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});
afterEach(async () => {
  await gc?.stop();
  gc = undefined;
  await f?.stop();
  f = undefined;
});

const replicaSet = (name: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] },
    },
  },
});

const ownedPod = (name: string, owners: OwnerReference[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web' }, ownerReferences: owners },
  spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] },
});

const refTo = (rs: KubeObject): OwnerReference => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  name: rs.metadata.name!,
  uid: rs.metadata.uid!,
  controller: true,
  blockOwnerDeletion: true,
});

/** A namespace with ReplicaSet `web` owning pods web-0..web-2, and a started collector. */
async function setup(ns: string): Promise<KubeObject> {
  await createNamespace(h.api, ns);
  const rs = await h.api.create(REPLICASETS, ns, replicaSet('web'));
  for (let i = 0; i < 3; i++) await h.api.create(PODS, ns, ownedPod(`web-${i}`, [refTo(rs)]));
  f = newFixture(h);
  gc = new GarbageCollector(f.deps);
  await f.start();
  return rs;
}

async function step(key: string): Promise<Action[]> {
  await f!.settle(PODS, REPLICASETS);
  f!.registry.take();
  await gc!.reconcile(key);
  return f!.registry.take();
}

const summary = (a: Action[]): string[] =>
  a
    .map(
      (x) =>
        `${x.verb} ${x.resource} ${x.name}${x.propagationPolicy ? ` ${x.propagationPolicy}` : ''}`,
    )
    .sort();

describe('garbage collector', () => {
  it('leaves dependents of a live owner alone', async () => {
    const ns = 'gc-live';
    await setup(ns);
    for (let i = 0; i < 3; i++) expect(await step(`pods/${ns}/web-${i}`)).toEqual([]);
    expect(await step(`replicasets.apps/${ns}/web`)).toEqual([]);
  });

  it('background: deletes the dependents of an owner that is gone', async () => {
    const ns = 'gc-background';
    await setup(ns);
    await h.api.delete(REPLICASETS, ns, 'web');
    for (let i = 0; i < 3; i++) {
      expect(summary(await step(`pods/${ns}/web-${i}`))).toEqual([
        `delete pods web-${i} Background`,
      ]);
    }
    expect(await podsIn(h.api, ns)).toEqual([]);
  });

  it('foreground: deletes dependents first, then lets the owner go', async () => {
    const ns = 'gc-foreground';
    await setup(ns);
    await h.api.delete(REPLICASETS, ns, 'web', { propagationPolicy: 'Foreground' });
    const owner = `replicasets.apps/${ns}/web`;

    expect(summary(await step(owner))).toEqual([
      'delete pods web-0 Foreground',
      'delete pods web-1 Foreground',
      'delete pods web-2 Foreground',
    ]);
    // The pods wait on their own foregroundDeletion finalizer; the owner waits for them.
    expect(await step(owner)).toEqual([]);
    expect((await h.api.get(REPLICASETS, ns, 'web')).metadata.finalizers).toEqual([
      'foregroundDeletion',
    ]);
    for (let i = 0; i < 3; i++) {
      expect(summary(await step(`pods/${ns}/web-${i}`))).toEqual([`patch pods web-${i}`]);
    }
    expect(await podsIn(h.api, ns)).toEqual([]);
    expect(summary(await step(owner))).toEqual(['patch replicasets web']);
    await expect(h.api.get(REPLICASETS, ns, 'web')).rejects.toMatchObject({ reason: 'NotFound' });
  });

  it('orphan: removes the owner reference from every dependent, then lets the owner go', async () => {
    const ns = 'gc-orphan';
    await setup(ns);
    await h.api.delete(REPLICASETS, ns, 'web', { propagationPolicy: 'Orphan' });
    expect(summary(await step(`replicasets.apps/${ns}/web`))).toEqual([
      'patch pods web-0',
      'patch pods web-1',
      'patch pods web-2',
      'patch replicasets web',
    ]);
    await expect(h.api.get(REPLICASETS, ns, 'web')).rejects.toMatchObject({ reason: 'NotFound' });
    const pods = await podsIn(h.api, ns);
    expect(pods).toHaveLength(3);
    for (const p of pods) expect(p.metadata.ownerReferences).toBeUndefined();
    // Orphans stay.
    for (const p of pods) expect(await step(`pods/${ns}/${p.metadata.name}`)).toEqual([]);
  });

  it('deletes what was left with a missing owner before it started, and unlinks a missing co-owner', async () => {
    const ns = 'gc-startup';
    await createNamespace(h.api, ns);
    const rs = await h.api.create(REPLICASETS, ns, replicaSet('alive'));
    const ghost: OwnerReference = {
      ...refTo(rs),
      name: 'ghost',
      uid: '00000000-0000-0000-0000-000000000000',
    };
    // Same name as a live object, other uid: a recreated namesake does not adopt it.
    const impostor: OwnerReference = { ...refTo(rs), uid: '11111111-1111-1111-1111-111111111111' };
    await h.api.create(PODS, ns, ownedPod('dangling', [ghost]));
    await h.api.create(PODS, ns, ownedPod('namesake', [impostor]));
    await h.api.create(PODS, ns, ownedPod('shared', [{ ...ghost, controller: false }, refTo(rs)]));
    f = newFixture(h);
    gc = new GarbageCollector(f.deps);
    await f.start();
    expect(summary(await step(`pods/${ns}/dangling`))).toEqual(['delete pods dangling Background']);
    expect(summary(await step(`pods/${ns}/namesake`))).toEqual(['delete pods namesake Background']);
    expect(summary(await step(`pods/${ns}/shared`))).toEqual(['patch pods shared']);
    const shared = await h.api.get(PODS, ns, 'shared');
    expect(shared.metadata.ownerReferences?.map((r) => r.name)).toEqual(['alive']);
  });

  it('with its workers running, cascades a foreground delete through two levels of dependents', async () => {
    const ns = 'gc-running';
    await setup(ns);
    const pod0 = await h.api.get(PODS, ns, 'web-0');
    await h.api.create(CONFIGMAPS, ns, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'web-0-state',
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'Pod',
            name: 'web-0',
            uid: pod0.metadata.uid!,
            blockOwnerDeletion: true,
          },
        ],
      },
    });
    await gc!.start();
    await h.api.delete(REPLICASETS, ns, 'web', { propagationPolicy: 'Foreground' });
    await expect
      .poll(
        async () => {
          const left = [
            ...(await h.api.list(REPLICASETS, ns)).items,
            ...(await h.api.list(PODS, ns)).items,
            ...(await h.api.list(CONFIGMAPS, ns)).items,
          ];
          return left.map((o) => o.metadata.name);
        },
        { timeout: 30_000, interval: 50 },
      )
      .toEqual([]);
    // Bottom up: the ReplicaSet's finalizer went only after the pods' and theirs after the ConfigMap's.
    const order = f!.registry.actions.map((a) => `${a.verb} ${a.resource} ${a.name}`);
    const last = order.lastIndexOf('patch replicasets web');
    expect(last).toBeGreaterThan(order.indexOf('patch pods web-0'));
    expect(order.indexOf('patch pods web-0')).toBeGreaterThan(
      order.indexOf('patch configmaps web-0-state'),
    );
    expect(order.indexOf('patch configmaps web-0-state')).toBeGreaterThanOrEqual(0);
  });
});
