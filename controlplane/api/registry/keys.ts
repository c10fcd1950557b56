// Where an object lives in etcd: /registry/<plural>/<namespace>/<name> for
// namespaced kinds and /registry/<plural>/<name> for cluster-scoped ones, as
// kube-apiserver lays it out (plurals are unique across the served groups).

import type { ResourceInfo } from '../resources.js';

export const REGISTRY_PREFIX = '/registry/';

export function objectKey(r: ResourceInfo, namespace: string | undefined, name: string): string {
  return r.namespaced
    ? `${REGISTRY_PREFIX}${r.plural}/${namespace ?? ''}/${name}`
    : `${REGISTRY_PREFIX}${r.plural}/${name}`;
}

/** The prefix of one namespace's objects, or of all of them when namespace is undefined. */
export function collectionPrefix(r: ResourceInfo, namespace: string | undefined): string {
  if (r.namespaced && namespace) return `${REGISTRY_PREFIX}${r.plural}/${namespace}/`;
  return `${REGISTRY_PREFIX}${r.plural}/`;
}
