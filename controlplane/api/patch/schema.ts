// The merge-key table: which lists in which kinds are merged item by item and
// by what key. Kubernetes reads this from struct tags (patchMergeKey,
// patchStrategy, listType, listMapKey); Shoal's objects are plain JSON, so the
// few lists clients rely on are declared here once and both strategic merge
// patch and server-side apply read them. A list not declared here is atomic:
// a patch or an apply replaces it whole, which is also what Kubernetes does
// for lists without a merge strategy.

/** One field of an associative list's key; `default` fills a missing value (ports' protocol). */
export interface KeyField {
  name: string;
  default?: string | number;
}

export type ListSchema =
  /** Items are maps merged by key: `mergeKey` for strategic merge patch, `keys` for apply. */
  | { type: 'map'; mergeKey: string; keys: readonly KeyField[]; items?: FieldSchema }
  /** Items are scalars merged as a set (finalizers). */
  | { type: 'set' }
  | { type: 'atomic' };

export interface FieldSchema {
  /** Known fields of a struct; unknown fields merge as plain maps. */
  fields?: Readonly<Record<string, FieldSchema>>;
  list?: ListSchema;
  /** Replaced and owned as a whole (label selectors, Service selector). */
  atomic?: boolean;
  /** A string-keyed map (labels): an Update that creates it owns the map itself too. */
  map?: boolean;
}

const MAP: FieldSchema = { map: true };
const ATOMIC: FieldSchema = { atomic: true };
const ATOMIC_LIST: FieldSchema = { list: { type: 'atomic' } };
const SET: FieldSchema = { list: { type: 'set' } };

function keyed(
  mergeKey: string,
  items?: FieldSchema,
  keys: readonly KeyField[] = [{ name: mergeKey }],
): FieldSchema {
  return items
    ? { list: { type: 'map', mergeKey, keys, items } }
    : { list: { type: 'map', mergeKey, keys } };
}

const conditions = keyed('type');

const objectMeta: FieldSchema = {
  fields: {
    labels: MAP,
    annotations: MAP,
    ownerReferences: keyed('uid'),
    finalizers: SET,
  },
};

const container: FieldSchema = {
  fields: {
    // Kubernetes merges ports by containerPort in patches but keys them by
    // (containerPort, protocol) for apply, with protocol defaulting to TCP.
    ports: keyed('containerPort', undefined, [
      { name: 'containerPort' },
      { name: 'protocol', default: 'TCP' },
    ]),
    env: keyed('name'),
    envFrom: ATOMIC_LIST,
    volumeMounts: keyed('mountPath'),
    volumeDevices: keyed('devicePath'),
    resizePolicy: keyed('resourceName'),
    command: ATOMIC_LIST,
    args: ATOMIC_LIST,
    resources: { fields: { limits: MAP, requests: MAP, claims: keyed('name') } },
  },
};

const podSpec: FieldSchema = {
  fields: {
    containers: keyed('name', container),
    initContainers: keyed('name', container),
    ephemeralContainers: keyed('name', container),
    volumes: keyed('name'),
    imagePullSecrets: keyed('name'),
    tolerations: ATOMIC_LIST,
    hostAliases: keyed('ip'),
    nodeSelector: { map: true, atomic: true },
    schedulingGates: keyed('name'),
    resourceClaims: keyed('name'),
    readinessGates: ATOMIC_LIST,
    topologySpreadConstraints: keyed('topologyKey', undefined, [
      { name: 'topologyKey' },
      { name: 'whenUnsatisfiable' },
    ]),
  },
};

const podTemplate: FieldSchema = { fields: { metadata: objectMeta, spec: podSpec } };

/** Deployment, ReplicaSet, DaemonSet, StatefulSet and Job keep their PodSpec at spec.template.spec. */
function workload(extraSpec: Record<string, FieldSchema> = {}): FieldSchema {
  return {
    fields: {
      metadata: objectMeta,
      spec: { fields: { selector: ATOMIC, template: podTemplate, ...extraSpec } },
      status: { fields: { conditions } },
    },
  };
}

const BY_KIND: Readonly<Record<string, FieldSchema>> = {
  Pod: {
    fields: {
      metadata: objectMeta,
      spec: podSpec,
      status: {
        fields: {
          conditions,
          podIPs: keyed('ip'),
          hostIPs: keyed('ip'),
          containerStatuses: ATOMIC_LIST,
          initContainerStatuses: ATOMIC_LIST,
          ephemeralContainerStatuses: ATOMIC_LIST,
        },
      },
    },
  },
  Deployment: workload(),
  ReplicaSet: workload(),
  DaemonSet: workload(),
  StatefulSet: workload({ volumeClaimTemplates: ATOMIC_LIST }),
  Job: workload(),
  Node: {
    fields: {
      metadata: objectMeta,
      spec: { fields: { taints: ATOMIC_LIST, podCIDRs: SET } },
      status: {
        fields: {
          conditions,
          addresses: keyed('type'),
          images: ATOMIC_LIST,
          capacity: MAP,
          allocatable: MAP,
        },
      },
    },
  },
  Service: {
    fields: {
      metadata: objectMeta,
      spec: {
        fields: {
          ports: keyed('port', undefined, [{ name: 'port' }, { name: 'protocol', default: 'TCP' }]),
          selector: { map: true, atomic: true },
          clusterIPs: ATOMIC_LIST,
          ipFamilies: ATOMIC_LIST,
          externalIPs: ATOMIC_LIST,
        },
      },
      status: { fields: { conditions } },
    },
  },
  ConfigMap: { fields: { metadata: objectMeta, data: MAP, binaryData: MAP } },
  Secret: { fields: { metadata: objectMeta, data: MAP, stringData: MAP } },
  Namespace: { fields: { metadata: objectMeta, status: { fields: { conditions } } } },
  PersistentVolumeClaim: { fields: { metadata: objectMeta, status: { fields: { conditions } } } },
};

const DEFAULT: FieldSchema = { fields: { metadata: objectMeta } };

/** The schema of a top-level object of `kind`; unknown kinds know only metadata. */
export function schemaFor(kind: string): FieldSchema {
  return (Object.hasOwn(BY_KIND, kind) ? BY_KIND[kind] : undefined) ?? DEFAULT;
}

/** The schema of field `name` inside `schema`, if declared. */
export function fieldSchema(
  schema: FieldSchema | undefined,
  name: string,
): FieldSchema | undefined {
  const fields = schema?.fields;
  return fields && Object.hasOwn(fields, name) ? fields[name] : undefined;
}
