// autoscaling/v1 Scale: the body of the scale subresource of Deployments and
// ReplicaSets (kubectl scale reads and patches it).

import {
  API_VERSION,
  AUTOSCALING,
  KIND,
  OBJECT_META,
  int32,
  obj,
  ref,
  str,
  type SchemaTable,
} from './schema-dsl.js';

export const AUTOSCALING_SCHEMAS: SchemaTable = {
  [AUTOSCALING + 'Scale']: obj(
    'The scale subresource of a workload: desired and observed replica counts.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: OBJECT_META,
      spec: ref(AUTOSCALING + 'ScaleSpec', 'The desired scale.'),
      status: ref(AUTOSCALING + 'ScaleStatus', 'The observed scale.'),
    },
  ),
  [AUTOSCALING + 'ScaleSpec']: obj('The desired scale.', {
    replicas: int32('Desired number of replicas.'),
  }),
  [AUTOSCALING + 'ScaleStatus']: obj(
    'The observed scale.',
    {
      replicas: int32('Observed number of replicas.'),
      selector: str("The workload's pod selector, in query-string form."),
    },
    { required: ['replicas'] },
  ),
};
