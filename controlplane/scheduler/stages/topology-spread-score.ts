// Spreading as a preference (kube-scheduler's PodTopologySpread Score). A pod
// with topologySpreadConstraints is scored by its ScheduleAnyway ones; a pod
// with none gets the default spreading, as kube-scheduler's system defaults
// do: over nodes (maxSkew 3) and over topology.kubernetes.io/zone (maxSkew
// 5), counting the pods of the same controller (the ownerReference with
// controller: true, looked up in each node's owner index). Raw score per
// constraint: pods in the node's domain × log(domains + 2) + (maxSkew − 1);
// fewer is better.

import type { NodeInfo, PodInfo, ScoreStage, Snapshot } from '../types.js';
import type { SpreadConstraint } from '../pod-info.js';
import { cycleMemo } from '../cycle-memo.js';
import { countSpread, type SpreadCounts } from './topology-spread.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
const NODE_MAX_SKEW = 3;
const ZONE_MAX_SKEW = 5;

interface ZoneSpread {
  /** Pods of the owner per zone. */
  zones: Map<string, number>;
  zoneWeight: number;
}

/** Counted only once a scored node has a zone: a cluster without zones never walks every node. */
function zoneSpread(owner: string, snapshot: Snapshot): ZoneSpread {
  const zones = new Map<string, number>();
  for (const node of snapshot.nodes) {
    const zone = node.labels[ZONE_LABEL];
    if (zone === undefined) continue;
    zones.set(zone, (zones.get(zone) ?? 0) + (node.ownerCounts.get(owner) ?? 0));
  }
  return { zones, zoneWeight: Math.log(zones.size + 2) };
}

function softConstraints(pod: PodInfo): SpreadConstraint[] {
  return pod.spreadConstraints.filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
}

export class TopologySpreadScore implements ScoreStage {
  readonly name = 'TopologySpreadScore';
  readonly normalize = 'reverse';

  constructor(readonly weight = 2) {}

  score(pod: PodInfo, node: NodeInfo, snapshot: Snapshot): number {
    if (pod.spreadConstraints.length > 0) return this.explicit(pod, node, snapshot);
    const owner = pod.controllerUid;
    if (owner === undefined) return 0;
    const nodeWeight = Math.log(snapshot.nodes.length + 2);
    let raw = (node.ownerCounts.get(owner) ?? 0) * nodeWeight + (NODE_MAX_SKEW - 1);
    const zone = node.labels[ZONE_LABEL];
    if (zone !== undefined) {
      const s = cycleMemo(pod, snapshot, this.name, () => zoneSpread(owner, snapshot));
      raw += (s.zones.get(zone) ?? 0) * s.zoneWeight + (ZONE_MAX_SKEW - 1);
    }
    return raw;
  }

  private explicit(pod: PodInfo, node: NodeInfo, snapshot: Snapshot): number {
    const constraints = softConstraints(pod);
    if (constraints.length === 0) return 0;
    const counts: SpreadCounts = cycleMemo(pod, snapshot, this.name, () =>
      countSpread(pod, constraints, snapshot),
    );
    let raw = 0;
    constraints.forEach((c, i) => {
      const value = node.labels[c.topologyKey];
      if (value === undefined) return;
      const domains = counts.perDomain[i]!;
      raw += (domains.get(value) ?? 0) * Math.log(domains.size + 2) + (c.maxSkew - 1);
    });
    return raw;
  }
}
