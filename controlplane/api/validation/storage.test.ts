// Updates of the storage kinds and StatefulSets: what may change and what is immutable.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../objects.js';
import { RESOURCES } from '../resources.js';
import { validateUpdate } from './index.js';
import {
  persistentVolume,
  persistentVolumeClaim,
  statefulSet,
  storageClass,
} from './manifests.fixture.js';

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test-side JSON access

function fields(kind: string, before: KubeObject, edit: (o: Rec) => void): string[] {
  const r = RESOURCES.find((x) => x.kind === kind)!;
  const after = structuredClone(before) as Rec;
  edit(after);
  return validateUpdate(r, before, after as KubeObject).map((e) => e.field);
}

const named = (o: KubeObject): KubeObject => {
  const namespaced = RESOURCES.find((x) => x.kind === o.kind)!.namespaced;
  return {
    ...o,
    metadata: {
      ...o.metadata,
      ...(namespaced ? { namespace: 'default' } : {}),
      uid: 'u1',
      resourceVersion: '1',
    },
  };
};

describe('PersistentVolumeClaim updates', () => {
  const pvc = named(persistentVolumeClaim());
  it.each<[string, (o: Rec) => void, string[]]>([
    ['growing the request', (o) => (o.spec.resources.requests.storage = '2Gi'), []],
    ['binding (volumeName set once)', (o) => (o.spec.volumeName = 'pv-1'), []],
    ['setting an absent class', (o) => (o.spec.storageClassName = 'local'), []],
    [
      'shrinking the request',
      (o) => (o.spec.resources.requests.storage = '500Mi'),
      ['spec.resources.requests.storage'],
    ],
    ['changing access modes', (o) => (o.spec.accessModes = ['ReadWriteMany']), ['spec']],
  ])('%s', (_n, edit, want) => {
    expect(fields('PersistentVolumeClaim', pvc, edit)).toEqual(want);
  });

  it('forbids moving a bound claim to another volume or class', () => {
    const bound = named({
      ...persistentVolumeClaim(),
      spec: { ...(persistentVolumeClaim().spec as Rec), volumeName: 'pv-1', storageClassName: 'a' },
    });
    expect(fields('PersistentVolumeClaim', bound, (o) => (o.spec.volumeName = 'pv-2'))).toEqual([
      'spec',
    ]);
    expect(fields('PersistentVolumeClaim', bound, (o) => (o.spec.storageClassName = 'b'))).toEqual([
      'spec',
    ]);
  });
});

describe('PersistentVolume, StorageClass and StatefulSet updates', () => {
  it('keeps a volume’s source, mode and node affinity', () => {
    const pv = named(persistentVolume());
    expect(fields('PersistentVolume', pv, (o) => (o.spec.local.path = '/elsewhere'))).toEqual([
      'spec.persistentvolumesource',
    ]);
    expect(
      fields('PersistentVolume', pv, (o) => (o.spec.persistentVolumeReclaimPolicy = 'Delete')),
    ).toEqual([]);
  });

  it('forbids changing a class’s provisioner, parameters, reclaim policy and binding mode', () => {
    const sc = named(storageClass());
    expect(fields('StorageClass', sc, (o) => (o.provisioner = 'x.io/y'))).toEqual(['provisioner']);
    expect(fields('StorageClass', sc, (o) => (o.parameters = { a: 'b' }))).toEqual(['parameters']);
    expect(fields('StorageClass', sc, (o) => (o.reclaimPolicy = 'Delete'))).toEqual([
      'reclaimPolicy',
    ]);
    expect(fields('StorageClass', sc, (o) => (o.volumeBindingMode = 'Immediate'))).toEqual([
      'volumeBindingMode',
    ]);
  });

  it('lets a StatefulSet change replicas and template only', () => {
    const sts = named(statefulSet());
    expect(fields('StatefulSet', sts, (o) => (o.spec.replicas = 5))).toEqual([]);
    expect(
      fields('StatefulSet', sts, (o) => (o.spec.template.spec.containers[0].image = 'busybox:2')),
    ).toEqual([]);
    expect(fields('StatefulSet', sts, (o) => (o.spec.serviceName = 'other'))).toEqual(['spec']);
    expect(
      fields(
        'StatefulSet',
        sts,
        (o) => (o.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '2Gi'),
      ),
    ).toEqual(['spec']);
  });
});
