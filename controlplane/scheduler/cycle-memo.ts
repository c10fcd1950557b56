// Per-attempt precomputation, as kube-scheduler's PreFilter + CycleState: a
// stage that needs a whole-cluster view for a pod (spread counts per zone,
// which nodes hold pods matching an affinity term) computes it once per
// attempt instead of once per node. Keyed by the pod object and the
// snapshot's identity and version, so a changed cluster never sees stale data.

import type { PodInfo, Snapshot } from './types.js';

interface Entry {
  snapshot: Snapshot;
  version: number;
  values: Map<string, unknown>;
}

const memos = new WeakMap<PodInfo, Entry>();

export function cycleMemo<T>(pod: PodInfo, snapshot: Snapshot, key: string, compute: () => T): T {
  let entry = memos.get(pod);
  if (!entry || entry.snapshot !== snapshot || entry.version !== snapshot.version) {
    entry = { snapshot, version: snapshot.version, values: new Map() };
    memos.set(pod, entry);
  }
  if (entry.values.has(key)) return entry.values.get(key) as T;
  const value = compute();
  entry.values.set(key, value);
  return value;
}
