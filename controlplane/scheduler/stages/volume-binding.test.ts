// VolumeBinding, as a table: a pod's claims, the volumes and classes in the
// cluster, the node tried, and kube-scheduler's verdict.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/objects.js';
import { buildSnapshot } from '../cache.js';
import { parsePod } from '../pod-info.js';
import { makeNode, makePod } from '../scheduler.fixture.js';
import type { Snapshot, VolumeCatalog } from '../types.js';
import {
  NO_MATCHING_VOLUME,
  NO_VOLUME_DIR,
  UNBOUND_IMMEDIATE,
  VOLUME_NODE_CONFLICT,
  VolumeBinding,
  claimsToProvision,
} from './volume-binding.js';

const cls = (name: string, mode: string, provisioner = 'shoal.io/local'): KubeObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name },
  provisioner,
  volumeBindingMode: mode,
});

const claim = (
  name: string,
  f: { class?: string; volume?: string; selected?: string; size?: string } = {},
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: {
    name,
    namespace: 'default',
    uid: `uid-${name}`,
    ...(f.selected ? { annotations: { 'volume.kubernetes.io/selected-node': f.selected } } : {}),
  },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: f.size ?? '1Gi' } },
    storageClassName: f.class ?? 'local',
    ...(f.volume ? { volumeName: f.volume } : {}),
  },
  status: { phase: f.volume ? 'Bound' : 'Pending' },
});

const localPV = (
  name: string,
  node: string,
  f: { class?: string; size?: string } = {},
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name },
  spec: {
    capacity: { storage: f.size ?? '5Gi' },
    accessModes: ['ReadWriteOnce'],
    storageClassName: f.class ?? 'local',
    local: { path: `/vol/${name}` },
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
        ],
      },
    },
  },
  status: { phase: 'Available' },
});

const withDir = (node: KubeObject): KubeObject => ({
  ...node,
  metadata: { ...node.metadata, annotations: { 'shoal.io/volume-dir': '/var/lib/shoal/volumes' } },
});

const podWith = (...claims: string[]): KubeObject => {
  const pod = makePod('p');
  (pod.spec as Record<string, unknown>).volumes = claims.map((c) => ({
    name: c,
    persistentVolumeClaim: { claimName: c },
  }));
  return pod;
};

function catalog(objs: KubeObject[]): VolumeCatalog {
  const of = (kind: string): KubeObject[] => objs.filter((o) => o.kind === kind);
  return {
    claim: (ns, name) =>
      of('PersistentVolumeClaim').find(
        (c) => c.metadata.namespace === ns && c.metadata.name === name,
      ),
    volume: (name) => of('PersistentVolume').find((v) => v.metadata.name === name),
    storageClass: (name) => of('StorageClass').find((s) => s.metadata.name === name),
    volumes: () => of('PersistentVolume'),
  };
}

interface Case {
  name: string;
  pod: KubeObject;
  node: KubeObject;
  objects: KubeObject[];
  want: true | string;
}

const WFFC = cls('local', 'WaitForFirstConsumer');
const IMMEDIATE = cls('fast', 'Immediate', 'example.com/nfs');

const cases: Case[] = [
  {
    name: 'a pod without claims',
    pod: makePod('p'),
    node: makeNode('n1'),
    objects: [],
    want: true,
  },
  {
    name: 'a missing claim',
    pod: podWith('data'),
    node: makeNode('n1'),
    objects: [WFFC],
    want: 'persistentvolumeclaim "data" not found',
  },
  {
    name: 'a claim bound to a volume on this node',
    pod: podWith('data'),
    node: makeNode('n1'),
    objects: [WFFC, claim('data', { volume: 'pv1' }), localPV('pv1', 'n1')],
    want: true,
  },
  {
    name: 'a claim bound to a volume on another node',
    pod: podWith('data'),
    node: makeNode('n2'),
    objects: [WFFC, claim('data', { volume: 'pv1' }), localPV('pv1', 'n1')],
    want: VOLUME_NODE_CONFLICT,
  },
  {
    name: 'a claim bound to a volume that is gone',
    pod: podWith('data'),
    node: makeNode('n1'),
    objects: [WFFC, claim('data', { volume: 'pv1' })],
    want: 'persistentvolume "pv1" not found',
  },
  {
    name: 'an unbound WaitForFirstConsumer claim, node with a volume dir',
    pod: podWith('data'),
    node: withDir(makeNode('n1')),
    objects: [WFFC, claim('data')],
    want: true,
  },
  {
    name: 'an unbound WaitForFirstConsumer claim, node without a volume dir',
    pod: podWith('data'),
    node: makeNode('n1'),
    objects: [WFFC, claim('data')],
    want: NO_VOLUME_DIR,
  },
  {
    name: 'a claim being provisioned for another node',
    pod: podWith('data'),
    node: withDir(makeNode('n2')),
    objects: [WFFC, claim('data', { selected: 'n1' })],
    want: VOLUME_NODE_CONFLICT,
  },
  {
    name: 'a WaitForFirstConsumer claim of an external class with a static volume here',
    pod: podWith('data'),
    node: makeNode('n1'),
    objects: [
      cls('ext', 'WaitForFirstConsumer', 'x.io/y'),
      claim('data', { class: 'ext' }),
      localPV('pv1', 'n1', { class: 'ext' }),
    ],
    want: true,
  },
  {
    name: 'a WaitForFirstConsumer claim of an external class, static volume elsewhere',
    pod: podWith('data'),
    node: makeNode('n2'),
    objects: [
      cls('ext', 'WaitForFirstConsumer', 'x.io/y'),
      claim('data', { class: 'ext' }),
      localPV('pv1', 'n1', { class: 'ext' }),
    ],
    want: NO_MATCHING_VOLUME,
  },
  {
    name: 'an unbound Immediate claim',
    pod: podWith('data'),
    node: makeNode('n1'),
    objects: [IMMEDIATE, claim('data', { class: 'fast' })],
    want: UNBOUND_IMMEDIATE,
  },
  {
    name: 'an unbound claim of no class',
    pod: podWith('data'),
    node: makeNode('n1'),
    objects: [claim('data', { class: '' })],
    want: UNBOUND_IMMEDIATE,
  },
  {
    name: 'two claims, one fits and one is pinned elsewhere',
    pod: podWith('a', 'b'),
    node: withDir(makeNode('n2')),
    objects: [WFFC, claim('a'), claim('b', { volume: 'pv1' }), localPV('pv1', 'n1')],
    want: VOLUME_NODE_CONFLICT,
  },
];

describe('VolumeBinding', () => {
  const stage = new VolumeBinding();
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const base = buildSnapshot([c.node]);
    const snapshot: Snapshot = {
      version: base.version,
      nodes: base.nodes,
      get: (n) => base.get(n),
      volumes: catalog(c.objects),
    };
    const v = stage.filter(parsePod(c.pod), snapshot.get(c.node.metadata.name!)!, snapshot);
    expect(v.ok ? true : v.reason).toEqual(c.want);
  });

  it('lets every pod through when the snapshot has no volume catalog', () => {
    const snapshot = buildSnapshot([makeNode('n1')]);
    expect(stage.filter(parsePod(podWith('data')), snapshot.get('n1')!, snapshot)).toEqual({
      ok: true,
    });
  });

  it('names the unbound WaitForFirstConsumer claims PreBind must annotate', () => {
    const c = catalog([
      WFFC,
      IMMEDIATE,
      claim('a'),
      claim('b', { volume: 'pv' }),
      claim('c', { class: 'fast' }),
    ]);
    expect(claimsToProvision(podWith('a', 'b', 'c'), c).map((x) => x.metadata.name)).toEqual(['a']);
  });
});
