// apimachinery's shared types (io.k8s.apimachinery.*): object and list
// metadata, label selectors, Status, DeleteOptions and the scalar types
// (Time, Quantity, IntOrString) every kind refers to.

import {
  API_VERSION,
  INT_OR_STRING_NAME,
  KIND,
  LIST_META,
  META,
  QUANTITY_NAME,
  arr,
  bool,
  enumStr,
  int32,
  int64,
  mapOf,
  obj,
  ref,
  str,
  type SchemaTable,
} from './schema-dsl.js';

export const META_SCHEMAS: SchemaTable = {
  [META + 'Time']: {
    description: 'A timestamp, serialized as an RFC 3339 string in UTC, e.g. 2024-01-02T15:04:05Z.',
    type: 'string',
    format: 'date-time',
  },
  [META + 'MicroTime']: {
    description: 'A timestamp with microsecond precision, serialized as an RFC 3339 string.',
    type: 'string',
    format: 'date-time',
  },
  [META + 'FieldsV1']: {
    description:
      'The set of fields a manager owns, as a trie of field paths (`f:spec`, `k:{"name":"web"}`).',
    type: 'object',
  },
  [META + 'Patch']: {
    description: 'A patch document; its format is given by the request Content-Type.',
    type: 'object',
  },
  // Kubernetes publishes both as oneOf in OpenAPI v3 (its Go types say so
  // with OpenAPIV3OneOfTypes); format int-or-string is kept for v2-era clients.
  [QUANTITY_NAME]: {
    description:
      'A fixed-point number with an optional SI or binary suffix, e.g. `100m` CPU or `128Mi` memory. Written as a string; plain numbers are accepted.',
    oneOf: [{ type: 'string' }, { type: 'number' }],
  },
  [INT_OR_STRING_NAME]: {
    description: 'Either an integer or a string, e.g. a port number or a port name, `25%` or `3`.',
    format: 'int-or-string',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  },

  [META + 'ObjectMeta']: obj('Metadata that all persisted resources have.', {
    name: str(
      'Name is unique within a namespace. Required when creating, unless generateName is set. Cannot be updated.',
    ),
    generateName: str('A prefix the server uses to generate a unique name when name is not set.'),
    namespace: str(
      'The namespace the object lives in; empty for cluster-scoped objects. Cannot be updated.',
    ),
    selfLink: str('Deprecated; not set by the server.'),
    uid: str('Unique in time and space, set by the server on create. Read-only.'),
    resourceVersion: str(
      'An opaque version of the object, changed on every write; send it back on update for optimistic concurrency. Read-only.',
    ),
    generation: int64(
      'A sequence number of the desired state, incremented when the spec changes. Read-only.',
    ),
    creationTimestamp: ref(META + 'Time', 'When the object was created. Read-only.'),
    deletionTimestamp: ref(
      META + 'Time',
      'When the object will be deleted; set by the server when deletion is requested and finalizers remain. Read-only.',
    ),
    deletionGracePeriodSeconds: int64(
      'Seconds the object is allowed to terminate gracefully. Read-only.',
    ),
    labels: mapOf(
      str(),
      'Key/value pairs used to organize and select objects (by label selectors).',
    ),
    annotations: mapOf(
      str(),
      'Key/value pairs that tools store on the object; not used for selection.',
    ),
    ownerReferences: arr(
      ref(META + 'OwnerReference'),
      { listType: 'map', mapKeys: ['uid'], mergeKey: 'uid', strategy: 'merge' },
      'Objects this one depends on; when all owners are gone the object is garbage collected.',
    ),
    finalizers: arr(
      str(),
      { listType: 'set', strategy: 'merge' },
      'Keys that must be removed before the object is deleted from the store.',
    ),
    managedFields: arr(
      ref(META + 'ManagedFieldsEntry'),
      { listType: 'atomic' },
      'Which field manager owns which fields, as server-side apply records them.',
    ),
  }),
  [META + 'ListMeta']: obj('Metadata that lists have.', {
    selfLink: str('Deprecated; not set by the server.'),
    resourceVersion: str('The version the list was read at; start a watch from it.'),
    continue: str(
      'Set when the list was limited and more items remain; pass it back to read the next page.',
    ),
    remainingItemCount: int64('How many items remain after this page, when known.'),
  }),
  [META + 'OwnerReference']: obj(
    'Identifies an owning object, which must be in the same namespace or cluster-scoped.',
    {
      apiVersion: str('API version of the owner.'),
      kind: str('Kind of the owner.'),
      name: str('Name of the owner.'),
      uid: str('UID of the owner.'),
      controller: bool('If true, this owner is the managing controller.'),
      blockOwnerDeletion: bool(
        'If true, the owner cannot be deleted in the foreground until this object is.',
      ),
    },
    { required: ['apiVersion', 'kind', 'name', 'uid'], mapType: 'atomic' },
  ),
  [META + 'ManagedFieldsEntry']: obj('The fields one manager owns, and by which operation.', {
    manager: str('Name of the field manager.'),
    operation: enumStr(['Apply', 'Update'], 'How the fields were last written: Apply or Update.'),
    apiVersion: str('API version the field set is expressed in.'),
    time: ref(META + 'Time', 'When the entry was last changed.'),
    fieldsType: str('Format of fieldsV1; always FieldsV1.'),
    fieldsV1: ref(META + 'FieldsV1', 'The owned fields.'),
    subresource: str('The subresource the fields were written through, e.g. status.'),
  }),
  [META + 'LabelSelector']: obj(
    'A label query; matchLabels and matchExpressions are ANDed. An empty selector matches everything.',
    {
      matchLabels: mapOf(str(), 'Labels that must all be present with these values.'),
      matchExpressions: arr(
        ref(META + 'LabelSelectorRequirement'),
        { listType: 'atomic' },
        'Requirements that must all hold.',
      ),
    },
    { mapType: 'atomic' },
  ),
  [META + 'LabelSelectorRequirement']: obj(
    'A selector requirement: a key, an operator and values.',
    {
      key: str('The label key.'),
      operator: str('In, NotIn, Exists or DoesNotExist.'),
      values: arr(
        str(),
        { listType: 'atomic' },
        'Values for In and NotIn; empty for Exists and DoesNotExist.',
      ),
    },
    { required: ['key', 'operator'] },
  ),
  [META + 'Condition']: obj(
    'One aspect of the current state of a resource.',
    {
      type: str('Type of the condition, in CamelCase.'),
      status: enumStr(['True', 'False', 'Unknown'], 'True, False or Unknown.'),
      observedGeneration: int64('The metadata.generation the condition was set for.'),
      lastTransitionTime: ref(META + 'Time', 'When the status last changed.'),
      reason: str('Why the condition last changed, in CamelCase.'),
      message: str('A description of the transition, for people.'),
    },
    { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
  ),
  [META + 'Status']: obj(
    'The result of an operation that does not return an object, and every error.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: LIST_META,
      status: str('Success or Failure.'),
      message: str('A human-readable description of the outcome.'),
      reason: str('A machine-readable reason, e.g. NotFound, AlreadyExists, Invalid, Conflict.'),
      details: ref(
        META + 'StatusDetails',
        'More about the reason, e.g. the object and the invalid fields.',
      ),
      code: int32('The HTTP status code.'),
    },
  ),
  [META + 'StatusDetails']: obj('More information about a Status.', {
    name: str('Name of the object concerned.'),
    group: str('API group of the object concerned.'),
    kind: str('Kind (or resource) of the object concerned.'),
    uid: str('UID of the object concerned.'),
    causes: arr(
      ref(META + 'StatusCause'),
      { listType: 'atomic' },
      'The individual problems, e.g. one per invalid field.',
    ),
    retryAfterSeconds: int32('Seconds to wait before retrying.'),
  }),
  [META + 'StatusCause']: obj('One cause of an error.', {
    reason: str('Machine-readable cause, e.g. FieldValueRequired.'),
    message: str('Human-readable description.'),
    field: str('The field concerned, e.g. spec.containers[0].image.'),
  }),
  [META + 'DeleteOptions']: obj('Options for a delete request.', {
    apiVersion: API_VERSION,
    kind: KIND,
    gracePeriodSeconds: int64('Seconds before the object is deleted; 0 deletes at once.'),
    preconditions: ref(META + 'Preconditions', 'Must hold for the delete to proceed.'),
    orphanDependents: bool('Deprecated: use propagationPolicy.'),
    propagationPolicy: str(
      'Whether and how dependents are garbage collected: Orphan, Background or Foreground.',
    ),
    dryRun: arr(str(), { listType: 'atomic' }, 'When present (All), nothing is persisted.'),
    ignoreStoreReadErrorWithClusterBreakingPotential: bool('Not supported by Shoal.'),
  }),
  [META + 'Preconditions']: obj('Preconditions for a delete.', {
    uid: str('The object must have this UID.'),
    resourceVersion: str('The object must have this resourceVersion.'),
  }),
};
