// coordination.k8s.io/v1 Lease and scheduling.k8s.io/v1 PriorityClass, as
// kube-apiserver 1.32 publishes them. Node agents' heartbeats are Leases in
// kube-node-lease; PriorityClass turns spec.priorityClassName into spec.priority.

import {
  API_VERSION,
  KIND,
  LIST_META,
  META,
  OBJECT_META,
  arr,
  bool,
  enumStr,
  int32,
  obj,
  ref,
  str,
  type SchemaTable,
} from './schema-dsl.js';

const COORDINATION = 'io.k8s.api.coordination.v1.';
const SCHEDULING = 'io.k8s.api.scheduling.v1.';

export const COORDINATION_SCHEDULING_SCHEMAS: SchemaTable = {
  [COORDINATION + 'Lease']: obj('A lease on a resource: who holds it and until when.', {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: OBJECT_META,
    spec: ref(COORDINATION + 'LeaseSpec', 'The specification of the lease.'),
  }),
  [COORDINATION + 'LeaseList']: obj(
    'A list of leases.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: LIST_META,
      items: arr(ref(COORDINATION + 'Lease')),
    },
    { required: ['items'] },
  ),
  [COORDINATION + 'LeaseSpec']: obj('The specification of a lease.', {
    holderIdentity: str('The identity of the current holder of the lease.'),
    leaseDurationSeconds: int32(
      'How long candidates wait to force-acquire the lease, measured from the last renewTime.',
    ),
    acquireTime: ref(META + 'MicroTime', 'When the current lease was acquired.'),
    renewTime: ref(META + 'MicroTime', 'When the current holder last renewed the lease.'),
    leaseTransitions: int32('How many times the lease changed holders.'),
    strategy: str('The strategy for picking the leader in coordinated leader election.'),
    preferredHolder: str('Signals to a holder that the lease has a more optimal holder.'),
  }),
  [SCHEDULING + 'PriorityClass']: obj(
    'Maps a priority class name to the integer priority pods of that class get.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: OBJECT_META,
      value: int32('The priority pods of this class get; higher is more important.'),
      globalDefault: bool(
        'Whether pods without a priorityClassName get this class. Only one class may be the global default.',
      ),
      description: str('When this priority class should be used.'),
      preemptionPolicy: enumStr(
        ['Never', 'PreemptLowerPriority'],
        'Whether pods of this class may preempt lower-priority pods. Defaults to PreemptLowerPriority.',
      ),
    },
    { required: ['value'] },
  ),
  [SCHEDULING + 'PriorityClassList']: obj(
    'A list of priority classes.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: LIST_META,
      items: arr(ref(SCHEDULING + 'PriorityClass')),
    },
    { required: ['items'] },
  ),
};
