// What differs between kinds when an object is written: which fields the
// server owns on create, whether spec changes bump metadata.generation, and
// how the main resource and its status subresource split one object.

import { isRecord, type KubeObject } from '../objects.js';
import type { ResourceInfo } from '../resources.js';

/** Kinds whose metadata.generation counts spec changes (as their Kubernetes strategies do). */
const GENERATION_KINDS = new Set([
  'Deployment',
  'ReplicaSet',
  'DaemonSet',
  'StatefulSet',
  'Job',
  'Namespace',
]);

export function tracksGeneration(r: ResourceInfo): boolean {
  return GENERATION_KINDS.has(r.kind);
}

export function hasStatus(r: ResourceInfo): boolean {
  return r.subresources.includes('status');
}

/** The status a freshly created object starts with; clients cannot set it on create. */
export function initialStatus(r: ResourceInfo, obj: KubeObject): unknown {
  switch (r.kind) {
    case 'Pod':
      return { phase: 'Pending', qosClass: qosClass(obj) };
    case 'Namespace':
      return { phase: 'Active' };
    case 'PersistentVolume':
    case 'PersistentVolumeClaim':
      // The persistent-volume controller moves them on (Available, Bound, Released).
      return { phase: 'Pending' };
    case 'Service':
      return { loadBalancer: {} };
    case 'Node':
      // The agent that registers a node reports its status with the create.
      return obj.status ?? {};
    default:
      return hasStatus(r) ? {} : obj.status;
  }
}

/** Everything but metadata and status: what generation tracks. */
export function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = obj;
  return JSON.stringify(rest);
}

type Resources = { requests?: Record<string, unknown>; limits?: Record<string, unknown> };

/** Kubernetes' QoS class: Guaranteed when every container's limits equal requests for cpu and memory. */
export function qosClass(pod: KubeObject): string {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const containers = [
    ...(Array.isArray(spec.containers) ? spec.containers : []),
    ...(Array.isArray(spec.initContainers) ? spec.initContainers : []),
  ].filter(isRecord);
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const res: Resources = isRecord(c.resources) ? c.resources : {};
    const requests = res.requests ?? {};
    const limits = res.limits ?? {};
    if (Object.keys(requests).length > 0 || Object.keys(limits).length > 0) any = true;
    for (const name of ['cpu', 'memory']) {
      const limit = limits[name];
      const request = requests[name] ?? limit;
      if (limit === undefined || String(request) !== String(limit)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
