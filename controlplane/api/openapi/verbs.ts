// What can be done to each served resource and subresource, and which kind
// each answers with. Discovery and the OpenAPI paths both read this, so what
// kubectl learns from one never contradicts the other.

import type { ResourceInfo } from '../resources.js';
import type { GroupVersionKind } from './schema-dsl.js';

export type Verb =
  'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

export type Subresource = ResourceInfo['subresources'][number];

export interface SubresourceInfo {
  name: Subresource;
  verbs: Verb[];
  /** The kind the subresource reads and writes: the parent's, except scale, binding and eviction. */
  kind: GroupVersionKind;
}

const ALL_VERBS: readonly Verb[] = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

/** The verbs of a resource itself, in the sorted order kube-apiserver lists them. */
export function resourceVerbs(r: ResourceInfo): Verb[] {
  // kube-apiserver does not serve deletecollection on namespaces: one request
  // should not be able to wipe out every namespace.
  if (r.group === '' && r.plural === 'namespaces')
    return ALL_VERBS.filter((v) => v !== 'deletecollection');
  return [...ALL_VERBS];
}

export function kindOf(r: ResourceInfo): GroupVersionKind {
  return { group: r.group, version: r.version, kind: r.kind };
}

export function subresourceInfo(r: ResourceInfo, name: Subresource): SubresourceInfo {
  switch (name) {
    case 'status':
      return { name, verbs: ['get', 'patch', 'update'], kind: kindOf(r) };
    case 'scale':
      return {
        name,
        verbs: ['get', 'patch', 'update'],
        kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      };
    case 'binding':
      return { name, verbs: ['create'], kind: { group: '', version: 'v1', kind: 'Binding' } };
    case 'log':
      return { name, verbs: ['get'], kind: kindOf(r) };
    // kubectl drain finds eviction support by this entry: pods/eviction, kind
    // Eviction, with its own group and version (policy/v1).
    case 'eviction':
      return {
        name,
        verbs: ['create'],
        kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
      };
  }
}
