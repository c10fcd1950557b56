// Persistent-volume controller: fixture on a real etcd → one reconcile → the writes it sent.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { findResource } from '../api/resources.js';
import { PersistentVolumeController } from './persistent-volume.js';
import {
  NODES,
  PODS,
  createNamespace,
  newFixture,
  useHarness,
  type Action,
  type Fixture,
} from './workload-test-fixture.js';

const PVCS = findResource('', 'v1', 'persistentvolumeclaims')!;
const PVS = findResource('', 'v1', 'persistentvolumes')!;
const CLASSES = findResource('storage.k8s.io', 'v1', 'storageclasses')!;

const h = useHarness();
let f: Fixture | undefined;
let ctl: PersistentVolumeController | undefined;

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test-side JSON access

const storageClass = (name: string, mode: string, reclaimPolicy = 'Delete'): KubeObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name },
  provisioner: 'shoal.io/local',
  reclaimPolicy,
  volumeBindingMode: mode,
});

const claim = (name: string, cls: string, size = '1Gi'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: size } },
    storageClassName: cls,
  },
});

const staticPV = (name: string, cls: string, size: string, policy = 'Retain'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name },
  spec: {
    capacity: { storage: size },
    accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
    storageClassName: cls,
    persistentVolumeReclaimPolicy: policy,
    hostPath: { path: `/srv/${name}` },
  },
});

const node = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name,
    labels: { 'kubernetes.io/hostname': name },
    annotations: { 'shoal.io/volume-dir': `/var/lib/${name}/volumes` },
  },
  spec: {},
});

async function start(): Promise<PersistentVolumeController> {
  f = newFixture(h);
  ctl = f.track(new PersistentVolumeController(f.deps));
  await f.start();
  return ctl;
}

/** One reconcile on a settled cache; returns the writes it made. */
async function step(key: string): Promise<Action[]> {
  await f!.settle(PVCS, PVS, CLASSES, NODES, PODS);
  f!.registry.take();
  await ctl!.reconcile(key);
  return f!.registry.take();
}

const summary = (actions: Action[]): string[] =>
  actions.map(
    (a) => `${a.verb} ${a.resource}${a.subresource ? '/' + a.subresource : ''} ${a.name}`,
  );

describe('PersistentVolume controller', () => {
  it('binds a claim to the smallest static volume that fits, both ways', async () => {
    const ns = 'pv-static';
    await createNamespace(h.api, ns);
    await h.api.create(PVS, undefined, staticPV('big-a', 'manual-a', '10Gi'));
    await h.api.create(PVS, undefined, staticPV('small-a', 'manual-a', '2Gi'));
    await h.api.create(PVS, undefined, staticPV('tiny-a', 'manual-a', '500Mi'));
    const pvc = await h.api.create(PVCS, ns, claim('data', 'manual-a'));
    await start();

    const actions = await step(`claim:${ns}/data`);
    expect(summary(actions)).toEqual([
      'update persistentvolumes small-a',
      'update persistentvolumes/status small-a',
      'update persistentvolumeclaims data',
      'update persistentvolumeclaims/status data',
    ]);
    const pv = actions[1]!.object as Rec;
    expect(pv.spec.claimRef).toMatchObject({ namespace: ns, name: 'data', uid: pvc.metadata.uid });
    expect(pv.status.phase).toBe('Bound');
    const bound = actions[3]!.object as Rec;
    expect(bound.spec.volumeName).toBe('small-a');
    expect(bound.metadata.annotations['pv.kubernetes.io/bind-completed']).toBe('yes');
    expect(bound.status).toMatchObject({
      phase: 'Bound',
      capacity: { storage: '2Gi' },
      accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
    });
    // Level-triggered: a second pass on the settled state writes nothing.
    expect(await step(`claim:${ns}/data`)).toEqual([]);
  });

  it('waits for the first consumer, then provisions a local volume on the selected node', async () => {
    const ns = 'pv-wffc';
    await createNamespace(h.api, ns);
    await h.api.create(CLASSES, undefined, storageClass('local-b', 'WaitForFirstConsumer'));
    await h.api.create(NODES, undefined, node('b1'));
    const pvc = await h.api.create(PVCS, ns, claim('data', 'local-b'));
    await start();

    expect(await step(`claim:${ns}/data`)).toEqual([]);

    await h.api.patch(PVCS, ns, 'data', 'merge', {
      metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'b1' } },
    });
    const actions = await step(`claim:${ns}/data`);
    const name = `pvc-${pvc.metadata.uid}`;
    expect(summary(actions)).toEqual([
      `create persistentvolumes ${name}`,
      `update persistentvolumes/status ${name}`,
      'update persistentvolumeclaims data',
      'update persistentvolumeclaims/status data',
    ]);
    const pv = actions[0]!.object as Rec;
    expect(pv.spec).toMatchObject({
      capacity: { storage: '1Gi' },
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: 'local-b',
      local: { path: `/var/lib/b1/volumes/${name}` },
      claimRef: { namespace: ns, name: 'data', uid: pvc.metadata.uid },
    });
    expect(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0]).toEqual({
      key: 'kubernetes.io/hostname',
      operator: 'In',
      values: ['b1'],
    });
    expect(pv.metadata.finalizers).toEqual(['shoal.io/local-volume-cleanup']);
    expect((actions[3]!.object as Rec).status.phase).toBe('Bound');
  });

  it('keeps a claim in use by a pod (pvc-protection), then releases and deletes its volume', async () => {
    const ns = 'pv-delete';
    await createNamespace(h.api, ns);
    await h.api.create(CLASSES, undefined, storageClass('local-c', 'WaitForFirstConsumer'));
    await h.api.create(NODES, undefined, node('c1'));
    const pvc = await h.api.create(PVCS, ns, {
      ...claim('data', 'local-c'),
      metadata: { name: 'data', annotations: { 'volume.kubernetes.io/selected-node': 'c1' } },
    });
    expect(pvc.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    await h.api.create(PODS, ns, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'user' },
      spec: {
        containers: [{ name: 'c', image: 'busybox' }],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }],
      },
    });
    await start();
    await step(`claim:${ns}/data`);
    const pvName = `pvc-${pvc.metadata.uid}`;

    await h.api.delete(PVCS, ns, 'data');
    expect(await step(`claim:${ns}/data`)).toEqual([]);

    await h.api.delete(PODS, ns, 'user', { gracePeriodSeconds: 0 });
    expect(summary(await step(`claim:${ns}/data`))).toEqual(['patch persistentvolumeclaims data']);

    const actions = await step(`volume:${pvName}`);
    expect(summary(actions)).toEqual([
      `update persistentvolumes/status ${pvName}`,
      `delete persistentvolumes ${pvName}`,
    ]);
    // The cleanup finalizer holds the object until the node's agent has removed the directory.
    const pv = await h.api.get(PVS, undefined, pvName);
    expect(pv.metadata.deletionTimestamp).toBeDefined();
    expect((pv.status as Rec).phase).toBe('Released');
    expect(await step(`volume:${pvName}`)).toEqual([]);
  });

  it('releases a Retain volume and keeps it', async () => {
    const ns = 'pv-retain';
    await createNamespace(h.api, ns);
    await h.api.create(PVS, undefined, staticPV('keep-d', 'manual-d', '1Gi', 'Retain'));
    await h.api.create(PVCS, ns, claim('data', 'manual-d'));
    await start();
    await step(`claim:${ns}/data`);
    await h.api.delete(PVCS, ns, 'data');
    await step(`claim:${ns}/data`);
    expect(summary(await step('volume:keep-d'))).toEqual([
      'update persistentvolumes/status keep-d',
    ]);
    const pv = await h.api.get(PVS, undefined, 'keep-d');
    expect((pv.status as Rec).phase).toBe('Released');
    expect((pv.spec as Rec).claimRef.name).toBe('data');
    expect(pv.metadata.deletionTimestamp).toBeUndefined();
  });

  it('gives a claim without a class the default class on create', async () => {
    const ns = 'pv-default';
    await createNamespace(h.api, ns);
    await h.api.create(CLASSES, undefined, {
      ...storageClass('dflt-e', 'WaitForFirstConsumer'),
      metadata: {
        name: 'dflt-e',
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
    });
    const withClass = await h.api.create(PVCS, ns, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'a' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    expect((withClass.spec as Rec).storageClassName).toBe('dflt-e');
    const none = await h.api.create(PVCS, ns, { ...claim('b', '') });
    expect((none.spec as Rec).storageClassName).toBe('');
  });
});
