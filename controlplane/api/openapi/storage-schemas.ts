// v1 PersistentVolume and PersistentVolumeClaim and storage.k8s.io/v1
// StorageClass, as kube-apiserver 1.32 publishes them, narrowed to the
// volume sources Shoal serves (local and hostPath directories).

import {
  API_VERSION,
  CORE,
  KIND,
  LIST_META,
  META,
  OBJECT_META,
  QUANTITY,
  TIME,
  arr,
  bool,
  enumStr,
  mapOf,
  obj,
  ref,
  str,
  type SchemaTable,
} from './schema-dsl.js';

export const STORAGE = 'io.k8s.api.storage.v1.';

const ACCESS_MODES = arr(
  enumStr(['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod']),
  { listType: 'atomic' },
  'How the volume can be mounted: ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod.',
);
const VOLUME_MODE = enumStr(['Block', 'Filesystem'], 'Filesystem (the only mode served here).');

export const STORAGE_SCHEMAS: SchemaTable = {
  [CORE + 'PersistentVolume']: obj('A piece of storage in the cluster, provisioned or static.', {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: OBJECT_META,
    spec: ref(CORE + 'PersistentVolumeSpec', 'The volume: capacity, access modes, source.'),
    status: ref(CORE + 'PersistentVolumeStatus', 'Pending, Available, Bound, Released or Failed.'),
  }),
  [CORE + 'PersistentVolumeList']: obj(
    'A list of persistent volumes.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: LIST_META,
      items: arr(ref(CORE + 'PersistentVolume')),
    },
    { required: ['items'] },
  ),
  [CORE + 'PersistentVolumeSpec']: obj('The characteristics of a persistent volume.', {
    accessModes: ACCESS_MODES,
    capacity: mapOf(QUANTITY, 'The volume size: `storage`.'),
    claimRef: ref(CORE + 'ObjectReference', 'The claim this volume is bound (or reserved) to.'),
    persistentVolumeReclaimPolicy: enumStr(
      ['Delete', 'Recycle', 'Retain'],
      'What happens when the claim is released: Retain (default for static volumes) or Delete.',
    ),
    storageClassName: str('The StorageClass this volume belongs to; empty for none.'),
    volumeMode: VOLUME_MODE,
    mountOptions: arr(str(), { listType: 'atomic' }),
    nodeAffinity: ref(CORE + 'VolumeNodeAffinity', 'The nodes this volume can be reached from.'),
    local: ref(CORE + 'LocalVolumeSource', 'A directory on one node.'),
    hostPath: ref(CORE + 'HostPathVolumeSource', 'A directory on the host (single node only).'),
  }),
  [CORE + 'VolumeNodeAffinity']: obj('The nodes a volume can be reached from.', {
    required: ref(CORE + 'NodeSelector', 'Nodes that must match.'),
  }),
  [CORE + 'LocalVolumeSource']: obj(
    'A directory on a node.',
    { path: str('The absolute path of the directory.'), fsType: str() },
    { required: ['path'] },
  ),
  [CORE + 'PersistentVolumeStatus']: obj('The observed state of a persistent volume.', {
    phase: enumStr(['Available', 'Bound', 'Failed', 'Pending', 'Released']),
    message: str(),
    reason: str(),
    lastPhaseTransitionTime: TIME,
  }),
  [CORE + 'PersistentVolumeClaim']: obj("A user's request for storage.", {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: OBJECT_META,
    spec: ref(CORE + 'PersistentVolumeClaimSpec', 'The storage requested.'),
    status: ref(CORE + 'PersistentVolumeClaimStatus', 'Pending or Bound, with the bound capacity.'),
  }),
  [CORE + 'PersistentVolumeClaimList']: obj(
    'A list of persistent volume claims.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: LIST_META,
      items: arr(ref(CORE + 'PersistentVolumeClaim')),
    },
    { required: ['items'] },
  ),
  [CORE + 'PersistentVolumeClaimSpec']: obj('The storage a claim asks for.', {
    accessModes: ACCESS_MODES,
    resources: ref(CORE + 'VolumeResourceRequirements', 'requests.storage: the minimum size.'),
    selector: ref(META + 'LabelSelector', 'Labels of the volumes that may be bound.'),
    storageClassName: str('The StorageClass; the default class when absent.'),
    volumeMode: VOLUME_MODE,
    volumeName: str('The volume bound to this claim.'),
  }),
  [CORE + 'VolumeResourceRequirements']: obj('Storage a claim requests.', {
    limits: mapOf(QUANTITY),
    requests: mapOf(QUANTITY, 'storage: the minimum size.'),
  }),
  [CORE + 'PersistentVolumeClaimStatus']: obj('The observed state of a claim.', {
    phase: enumStr(['Bound', 'Lost', 'Pending']),
    accessModes: ACCESS_MODES,
    capacity: mapOf(QUANTITY, 'The size of the bound volume.'),
    conditions: arr(ref(CORE + 'PersistentVolumeClaimCondition'), {
      listType: 'map',
      mapKeys: ['type'],
      mergeKey: 'type',
      strategy: 'merge',
    }),
  }),
  [CORE + 'PersistentVolumeClaimCondition']: obj(
    'A condition of a claim.',
    {
      type: str(),
      status: str(),
      lastProbeTime: TIME,
      lastTransitionTime: TIME,
      reason: str(),
      message: str(),
    },
    { required: ['type', 'status'] },
  ),
  [STORAGE + 'StorageClass']: obj(
    'A class of dynamically provisioned volumes.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: OBJECT_META,
      provisioner: str('The provisioner, e.g. shoal.io/local.'),
      parameters: mapOf(str(), 'Provisioner parameters.'),
      reclaimPolicy: enumStr(['Delete', 'Retain'], 'For provisioned volumes; defaults to Delete.'),
      volumeBindingMode: enumStr(
        ['Immediate', 'WaitForFirstConsumer'],
        'When claims are bound and provisioned; defaults to Immediate.',
      ),
      allowVolumeExpansion: bool(),
      mountOptions: arr(str(), { listType: 'atomic' }),
    },
    { required: ['provisioner'] },
  ),
  [STORAGE + 'StorageClassList']: obj(
    'A list of storage classes.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: LIST_META,
      items: arr(ref(STORAGE + 'StorageClass')),
    },
    { required: ['items'] },
  ),
};
