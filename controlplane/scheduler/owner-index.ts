// Default spreading (TopologySpreadScore) reads, for every feasible node on
// every attempt, how many pods of the pod's controller the node holds. A
// lookup in each node's ownerCounts map was the most expensive line of a
// plain ReplicaSet pod's decision. The cache keeps, for the controllers being
// scheduled, those counts in one dense array per controller, indexed by a
// slot number the cache gives each NodeInfo: one array read per node instead
// of one map lookup (kube-scheduler keeps such counts in its PreScore state,
// rebuilt per attempt; here they are kept current between attempts).
//
// Only the most recently asked-for controllers keep an array (a cluster may
// hold thousands of ReplicaSets, and 5,000 nodes make 20 KB each); one
// dropped is rebuilt from the nodes' maps when next asked for.

import type { NodeInfo } from './node-info.js';

/** How many controllers keep an array. */
const DEFAULT_CAPACITY = 64;

export class OwnerIndex {
  /** Pods per node slot, per controller uid; iteration order is least recently asked first. */
  private readonly counts = new Map<string, Int32Array>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /**
   * The pods of `owner` on each node, by NodeInfo.slot, as `nodes` (every
   * NodeInfo holding a slot below `slots`) count them; kept current by
   * `delta` from then on.
   */
  podsBySlot(owner: string, nodes: Iterable<NodeInfo>, slots: number): Int32Array {
    let counts = this.counts.get(owner);
    if (counts) {
      this.counts.delete(owner); // most recently asked now
    } else {
      counts = new Int32Array(slots);
      for (const node of nodes) counts[node.slot] = node.ownerCounts.get(owner) ?? 0;
    }
    counts = grown(counts, slots);
    this.counts.set(owner, counts);
    if (this.counts.size > this.capacity) {
      const oldest = this.counts.keys().next().value;
      if (oldest !== undefined) this.counts.delete(oldest);
    }
    return counts;
  }

  /** A pod of `owner` came to (1) or left (−1) the node in `slot`; `slots` is how many there are. */
  delta(owner: string, slot: number, delta: number, slots: number): void {
    const counts = this.counts.get(owner);
    if (!counts) return;
    const kept = grown(counts, slots);
    kept[slot]! += delta;
    if (kept !== counts) this.counts.set(owner, kept);
  }

  /** Controllers holding an array (for tests). */
  get size(): number {
    return this.counts.size;
  }
}

/** `counts`, or a copy long enough for `slots` nodes (new slots hold no pods). */
function grown(counts: Int32Array, slots: number): Int32Array {
  if (counts.length >= slots) return counts;
  const bigger = new Int32Array(Math.max(slots, counts.length * 2));
  bigger.set(counts);
  return bigger;
}
