// apps/v1 Deployment, ReplicaSet, DaemonSet and StatefulSet, as kube-apiserver 1.32
// publishes them; their pod templates refer to core-pod-schemas.

import {
  API_VERSION,
  APPS,
  CORE,
  INT_OR_STRING,
  INT_OR_STRING_NAME,
  KIND,
  LIST_META,
  META,
  OBJECT_META,
  TIME,
  arr,
  bool,
  enumStr,
  int32,
  int64,
  obj,
  ref,
  str,
  type SchemaTable,
} from './schema-dsl.js';

export const APPS_SCHEMAS: SchemaTable = {
  [APPS + 'Deployment']: obj(
    'Declarative updates for pods: keeps replicas of a pod template running through ReplicaSets and rolls out changes.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: OBJECT_META,
      spec: ref(APPS + 'DeploymentSpec', 'The desired state of the deployment.'),
      status: ref(APPS + 'DeploymentStatus', 'The observed state of the deployment.'),
    },
  ),
  [APPS + 'DeploymentList']: obj(
    'A list of deployments.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: LIST_META,
      items: arr(ref(APPS + 'Deployment')),
    },
    { required: ['items'] },
  ),
  [APPS + 'DeploymentSpec']: obj(
    'The desired state of a deployment.',
    {
      replicas: int32('Number of desired pods. Defaults to 1.'),
      selector: ref(
        META + 'LabelSelector',
        "Label selector for the pods; must match the template's labels. Cannot be changed.",
      ),
      template: ref(CORE + 'PodTemplateSpec', 'The pods to create.'),
      strategy: ref(APPS + 'DeploymentStrategy', 'How old pods are replaced by new ones.'),
      minReadySeconds: int32('Seconds a new pod must be ready before it counts as available.'),
      revisionHistoryLimit: int32('Old ReplicaSets to keep for rollback. Defaults to 10.'),
      paused: bool('Stop rolling out changes to the template.'),
      progressDeadlineSeconds: int32(
        'Seconds without progress before the rollout is reported as failed. Defaults to 600.',
      ),
    },
    { required: ['selector', 'template'] },
  ),
  [APPS + 'DeploymentStrategy']: obj('How a deployment replaces pods.', {
    type: enumStr(['Recreate', 'RollingUpdate'], 'RollingUpdate (default) or Recreate.'),
    rollingUpdate: ref(APPS + 'RollingUpdateDeployment', 'Rolling update parameters.'),
  }),
  [APPS + 'RollingUpdateDeployment']: obj('Rolling update parameters.', {
    maxUnavailable: ref(
      INT_OR_STRING_NAME,
      'Pods (number or percentage) that may be unavailable during the update. Defaults to 25%.',
    ),
    maxSurge: ref(
      INT_OR_STRING_NAME,
      'Pods (number or percentage) above the desired count during the update. Defaults to 25%.',
    ),
  }),
  [APPS + 'DeploymentStatus']: obj('The observed state of a deployment.', {
    observedGeneration: int64('The generation the controller last acted on.'),
    replicas: int32('Pods targeted by the deployment.'),
    updatedReplicas: int32('Pods with the current template.'),
    readyReplicas: int32('Ready pods.'),
    availableReplicas: int32('Pods ready for at least minReadySeconds.'),
    unavailableReplicas: int32('Pods still needed to reach the desired count.'),
    conditions: arr(
      ref(APPS + 'DeploymentCondition'),
      { listType: 'map', mapKeys: ['type'], mergeKey: 'type', strategy: 'merge' },
      'Available and Progressing.',
    ),
    collisionCount: int32(),
  }),
  [APPS + 'DeploymentCondition']: obj(
    'A condition of a deployment.',
    {
      type: str(),
      status: str('True, False or Unknown.'),
      lastUpdateTime: TIME,
      lastTransitionTime: TIME,
      reason: str(),
      message: str(),
    },
    { required: ['type', 'status'] },
  ),
  [APPS + 'ReplicaSet']: obj('Keeps a number of pods matching its selector running.', {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: OBJECT_META,
    spec: ref(APPS + 'ReplicaSetSpec', 'The desired state of the replica set.'),
    status: ref(APPS + 'ReplicaSetStatus', 'The observed state of the replica set.'),
  }),
  [APPS + 'ReplicaSetList']: obj(
    'A list of replica sets.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: LIST_META,
      items: arr(ref(APPS + 'ReplicaSet')),
    },
    { required: ['items'] },
  ),
  [APPS + 'ReplicaSetSpec']: obj(
    'The desired state of a replica set.',
    {
      replicas: int32('Number of desired pods. Defaults to 1.'),
      minReadySeconds: int32(),
      selector: ref(
        META + 'LabelSelector',
        "Label selector for the pods; must match the template's labels.",
      ),
      template: ref(CORE + 'PodTemplateSpec', 'The pods to create.'),
    },
    { required: ['selector'] },
  ),
  [APPS + 'ReplicaSetStatus']: obj(
    'The observed state of a replica set.',
    {
      replicas: int32(),
      fullyLabeledReplicas: int32(),
      readyReplicas: int32(),
      availableReplicas: int32(),
      observedGeneration: int64(),
      conditions: arr(ref(APPS + 'ReplicaSetCondition'), {
        listType: 'map',
        mapKeys: ['type'],
        mergeKey: 'type',
        strategy: 'merge',
      }),
    },
    { required: ['replicas'] },
  ),
  [APPS + 'ReplicaSetCondition']: obj(
    'A condition of a replica set.',
    {
      type: str(),
      status: str('True, False or Unknown.'),
      lastTransitionTime: TIME,
      reason: str(),
      message: str(),
    },
    { required: ['type', 'status'] },
  ),
  [APPS + 'DaemonSet']: obj('Runs one pod on every node that matches.', {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: OBJECT_META,
    spec: ref(APPS + 'DaemonSetSpec', 'The desired state of the daemon set.'),
    status: ref(APPS + 'DaemonSetStatus', 'The observed state of the daemon set.'),
  }),
  [APPS + 'DaemonSetList']: obj(
    'A list of daemon sets.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: LIST_META,
      items: arr(ref(APPS + 'DaemonSet')),
    },
    { required: ['items'] },
  ),
  [APPS + 'DaemonSetSpec']: obj(
    'The desired state of a daemon set.',
    {
      selector: ref(
        META + 'LabelSelector',
        "Label selector for the pods; must match the template's labels.",
      ),
      template: ref(CORE + 'PodTemplateSpec', 'The pod to run on each node.'),
      updateStrategy: ref(
        APPS + 'DaemonSetUpdateStrategy',
        'How pods are replaced when the template changes.',
      ),
      minReadySeconds: int32(),
      revisionHistoryLimit: int32(),
    },
    { required: ['selector', 'template'] },
  ),
  [APPS + 'DaemonSetUpdateStrategy']: obj('How a daemon set replaces pods.', {
    type: enumStr(['RollingUpdate', 'OnDelete'], 'RollingUpdate (default) or OnDelete.'),
    rollingUpdate: ref(APPS + 'RollingUpdateDaemonSet'),
  }),
  [APPS + 'RollingUpdateDaemonSet']: obj('Rolling update parameters of a daemon set.', {
    maxUnavailable: INT_OR_STRING,
    maxSurge: INT_OR_STRING,
  }),
  [APPS + 'DaemonSetStatus']: obj(
    'The observed state of a daemon set.',
    {
      currentNumberScheduled: int32(),
      numberMisscheduled: int32(),
      desiredNumberScheduled: int32(),
      numberReady: int32(),
      observedGeneration: int64(),
      updatedNumberScheduled: int32(),
      numberAvailable: int32(),
      numberUnavailable: int32(),
      collisionCount: int32(),
      conditions: arr(ref(APPS + 'DaemonSetCondition'), {
        listType: 'map',
        mapKeys: ['type'],
        mergeKey: 'type',
        strategy: 'merge',
      }),
    },
    {
      required: [
        'currentNumberScheduled',
        'numberMisscheduled',
        'desiredNumberScheduled',
        'numberReady',
      ],
    },
  ),
  [APPS + 'StatefulSet']: obj(
    'Pods with stable names, network identities and storage, started and updated in order.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: OBJECT_META,
      spec: ref(APPS + 'StatefulSetSpec', 'The desired state of the stateful set.'),
      status: ref(APPS + 'StatefulSetStatus', 'The observed state of the stateful set.'),
    },
  ),
  [APPS + 'StatefulSetList']: obj(
    'A list of stateful sets.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: LIST_META,
      items: arr(ref(APPS + 'StatefulSet')),
    },
    { required: ['items'] },
  ),
  [APPS + 'StatefulSetSpec']: obj(
    'The desired state of a stateful set.',
    {
      replicas: int32('Number of desired pods, named <name>-0 … <name>-(N-1). Defaults to 1.'),
      selector: ref(
        META + 'LabelSelector',
        "Label selector for the pods; must match the template's labels.",
      ),
      template: ref(CORE + 'PodTemplateSpec', 'The pods to create.'),
      volumeClaimTemplates: arr(
        ref(CORE + 'PersistentVolumeClaim'),
        { listType: 'atomic' },
        'Claims each pod gets, named <template>-<pod>; kept when pods go.',
      ),
      serviceName: str('The headless Service that gives the pods their DNS names.'),
      podManagementPolicy: enumStr(
        ['OrderedReady', 'Parallel'],
        'OrderedReady (default): one pod at a time, in ordinal order; Parallel: all at once.',
      ),
      updateStrategy: ref(APPS + 'StatefulSetUpdateStrategy', 'How pods are replaced.'),
      revisionHistoryLimit: int32(),
      minReadySeconds: int32(),
      persistentVolumeClaimRetentionPolicy: ref(
        APPS + 'StatefulSetPersistentVolumeClaimRetentionPolicy',
        'Whether claims are deleted with the set or on scale-down (Retain by default).',
      ),
    },
    { required: ['selector', 'template'] },
  ),
  [APPS + 'StatefulSetUpdateStrategy']: obj('How a stateful set replaces pods.', {
    type: enumStr(['OnDelete', 'RollingUpdate'], 'RollingUpdate (default) or OnDelete.'),
    rollingUpdate: ref(APPS + 'RollingUpdateStatefulSetStrategy'),
  }),
  [APPS + 'RollingUpdateStatefulSetStrategy']: obj('Rolling update parameters of a stateful set.', {
    partition: int32('Ordinals below this keep the old template.'),
    maxUnavailable: INT_OR_STRING,
  }),
  [APPS + 'StatefulSetPersistentVolumeClaimRetentionPolicy']: obj('Claim retention.', {
    whenDeleted: enumStr(['Delete', 'Retain']),
    whenScaled: enumStr(['Delete', 'Retain']),
  }),
  [APPS + 'StatefulSetStatus']: obj(
    'The observed state of a stateful set.',
    {
      observedGeneration: int64(),
      replicas: int32(),
      readyReplicas: int32(),
      currentReplicas: int32(),
      updatedReplicas: int32(),
      availableReplicas: int32(),
      currentRevision: str(),
      updateRevision: str(),
      collisionCount: int32(),
      conditions: arr(ref(APPS + 'StatefulSetCondition'), {
        listType: 'map',
        mapKeys: ['type'],
        mergeKey: 'type',
        strategy: 'merge',
      }),
    },
    { required: ['replicas'] },
  ),
  [APPS + 'StatefulSetCondition']: obj(
    'A condition of a stateful set.',
    {
      type: str(),
      status: str('True, False or Unknown.'),
      lastTransitionTime: TIME,
      reason: str(),
      message: str(),
    },
    { required: ['type', 'status'] },
  ),
  [APPS + 'DaemonSetCondition']: obj(
    'A condition of a daemon set.',
    {
      type: str(),
      status: str('True, False or Unknown.'),
      lastTransitionTime: TIME,
      reason: str(),
      message: str(),
    },
    { required: ['type', 'status'] },
  ),
};
