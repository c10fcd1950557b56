// Default spreading over zones (TopologySpreadScore) needs, for the pod's
// controller, how many of its pods each zone holds, and how many zones there
// are. Counting that meant walking every node on every attempt: at 5,000
// nodes that walk was most of a plain pod's decision. The cache keeps the
// counts here instead, changed as pods and nodes come and go, so an attempt
// reads them in O(1). Only nodes the snapshot lists (those with a Node
// object) count, exactly as the walk over `snapshot.nodes` did.

import type { NodeInfo } from './node-info.js';
import type { ZoneCounts } from './types.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export class ZoneIndex implements ZoneCounts {
  /** Listed nodes per zone; a zone with none is gone. */
  private readonly nodes = new Map<string, number>();
  /** Pods per controller uid, per zone, over the zone's listed nodes. */
  private readonly owners = new Map<string, Map<string, number>>();

  get size(): number {
    return this.nodes.size;
  }

  ownerPods(zone: string, owner: string): number {
    return this.owners.get(zone)?.get(owner) ?? 0;
  }

  /** A node is listed, or listed again under a new zone: it and its pods count. */
  addNode(node: NodeInfo): void {
    const zone = node.labels[ZONE_LABEL];
    if (zone === undefined) return;
    this.nodes.set(zone, (this.nodes.get(zone) ?? 0) + 1);
    for (const [owner, n] of node.ownerCounts) this.ownerDelta(zone, owner, n);
  }

  /** A listed node leaves `zone` (unlisted, or relabelled): it and its pods stop counting there. */
  removeNode(node: NodeInfo, zone: string | undefined): void {
    if (zone === undefined) return;
    const left = (this.nodes.get(zone) ?? 0) - 1;
    if (left > 0) this.nodes.set(zone, left);
    else this.nodes.delete(zone);
    for (const [owner, n] of node.ownerCounts) this.ownerDelta(zone, owner, -n);
  }

  /** A pod of `owner` came to (delta 1) or left (−1) a listed node in `zone`. */
  ownerDelta(zone: string, owner: string, delta: number): void {
    let counts = this.owners.get(zone);
    if (!counts) {
      counts = new Map();
      this.owners.set(zone, counts);
    }
    const n = (counts.get(owner) ?? 0) + delta;
    if (n !== 0) counts.set(owner, n);
    else counts.delete(owner);
    if (counts.size === 0) this.owners.delete(zone);
  }
}
