// What an agent session last sent its agent of each pod, so a pod write the
// agent has nothing to act on sends nothing: most pod writes are the agent's
// own status reports, and echoing each one back cost a pod's JSON and a send.
// The agent acts on the pod less status, resourceVersion and managedFields
// (agentView); two writes that agree on it are the same to the agent.
//
// A session kept a SHA-256 of that view's JSON per pod. Hashing a kilobyte
// or two of JSON for every pod event cost more than the rest of the event's
// handling in the gateway (2.5 % of the control plane's main thread under
// the scheduler benchmark, plus the garbage of the copy, the string and the
// hash). Here the session keeps what it last compared against and compares
// the new pod field by field. It keeps the agent's view only (agentView:
// metadata less managedFields, and spec, shared with the watch's object), so
// a running pod's status and managedFields objects go once SessionPods lets
// go of the pod; at 30,000 running pods they were tens of MiB of the main
// thread.

import type { KubeObject } from '../api/objects.js';

/** Metadata fields that change on writes the agent has nothing to act on. */
const BOOKKEEPING = new Set(['resourceVersion', 'managedFields']);

export class SentPods {
  private readonly byUid = new Map<string, KubeObject>();

  /** The initial list was sent whole. */
  listed(items: readonly KubeObject[]): void {
    for (const p of items) this.byUid.set(p.metadata.uid ?? '', agentView(p));
  }

  /**
   * Whether the agent needs `pod`: true when it differs from what was last
   * sent of that uid in anything but status and bookkeeping (or nothing was),
   * and it is then recorded as sent. False otherwise; the newer object then
   * stands for it (it is the same to the agent), so the older can be freed.
   */
  changed(pod: KubeObject): boolean {
    const uid = pod.metadata.uid ?? '';
    const held = this.byUid.get(uid);
    this.byUid.set(uid, agentView(pod));
    return held === undefined || !sameAgentView(held, pod);
  }

  /** The pod was deleted: whatever comes next of that uid is sent. */
  forget(uid: string): void {
    this.byUid.delete(uid);
  }

  /** The session ended: the pods held here may go. */
  clear(): void {
    this.byUid.clear();
  }

  get size(): number {
    return this.byUid.size;
  }
}

/** What of a pod the agent acts on, all sameAgentView compares (shallow: shares the rest). */
function agentView(pod: KubeObject): KubeObject {
  const { managedFields: _dropped, ...metadata } = pod.metadata;
  return { apiVersion: pod.apiVersion, kind: pod.kind, metadata, spec: pod.spec };
}

/**
 * Whether two pods agree on everything but status, resourceVersion and
 * managedFields, as their JSON would: properties holding undefined are
 * absent, key order does not matter (the agent parses the JSON). The pods
 * are JSON values (decoded from etcd), never mutated after decoding.
 */
export function sameAgentView(a: KubeObject, b: KubeObject): boolean {
  return (
    sameJson(a.spec, b.spec) &&
    sameFields(
      a.metadata as Record<string, unknown>,
      b.metadata as Record<string, unknown>,
      BOOKKEEPING,
    )
  );
}

/** JSON equality of two JSON values. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  return sameFields(a as Record<string, unknown>, b as Record<string, unknown>);
}

function sameFields(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  skip?: ReadonlySet<string>,
): boolean {
  // Counts a's defined fields down by b's: equal counts and every one of a's
  // equal to b's means b has no field a lacks.
  // for-in, not Object.keys: no array per object (JSON objects inherit no enumerable keys).
  let fields = 0;
  for (const k in a) {
    const v = a[k];
    if (v === undefined || skip?.has(k)) continue;
    if (!sameJson(v, b[k])) return false;
    fields++;
  }
  for (const k in b) {
    if (b[k] !== undefined && !skip?.has(k)) fields--;
  }
  return fields === 0;
}
