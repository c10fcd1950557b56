// The table of served resources: one row per kind. Discovery, OpenAPI,
// routing, validation and the store's keys all read this table, so adding a
// kind starts here.

export interface ResourceInfo {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string; // the URL segment and the etcd key segment
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Subresources served besides the object itself. */
  subresources: ('status' | 'scale' | 'binding' | 'log' | 'eviction')[];
}

const row = (
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  shortNames: string[] = [],
  subresources: ResourceInfo['subresources'] = [],
  categories: string[] = [],
): ResourceInfo => ({
  group,
  version,
  kind,
  plural,
  singular: kind.toLowerCase(),
  namespaced,
  shortNames,
  categories,
  subresources,
});

export const RESOURCES: readonly ResourceInfo[] = [
  row('', 'v1', 'Namespace', 'namespaces', false, ['ns'], ['status']),
  row('', 'v1', 'Node', 'nodes', false, ['no'], ['status']),
  row('', 'v1', 'Pod', 'pods', true, ['po'], ['status', 'binding', 'log', 'eviction'], ['all']),
  row('', 'v1', 'Service', 'services', true, ['svc'], ['status'], ['all']),
  row('', 'v1', 'Endpoints', 'endpoints', true, ['ep']),
  row('', 'v1', 'ConfigMap', 'configmaps', true, ['cm']),
  row('', 'v1', 'Secret', 'secrets', true),
  row('', 'v1', 'Event', 'events', true, ['ev']),
  row('', 'v1', 'PersistentVolume', 'persistentvolumes', false, ['pv'], ['status']),
  row('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, ['pvc'], ['status']),
  row('apps', 'v1', 'Deployment', 'deployments', true, ['deploy'], ['status', 'scale'], ['all']),
  row('apps', 'v1', 'ReplicaSet', 'replicasets', true, ['rs'], ['status', 'scale'], ['all']),
  row('apps', 'v1', 'DaemonSet', 'daemonsets', true, ['ds'], ['status'], ['all']),
  row('apps', 'v1', 'StatefulSet', 'statefulsets', true, ['sts'], ['status', 'scale'], ['all']),
  row('batch', 'v1', 'Job', 'jobs', true, [], ['status'], ['all']),
  row('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false, ['sc']),
  row('coordination.k8s.io', 'v1', 'Lease', 'leases', true),
  row('scheduling.k8s.io', 'v1', 'PriorityClass', 'priorityclasses', false, ['pc']),
];

export function apiVersionOf(r: ResourceInfo): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

export function findResource(
  group: string,
  version: string,
  plural: string,
): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function findKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(apiVersionOf(r), { group: r.group, version: r.version });
  return [...seen.values()];
}
