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
import { ZONE_LABEL } from '../zone-index.js';

export { ZONE_LABEL } from '../zone-index.js';
const NODE_MAX_SKEW = 3;
const ZONE_MAX_SKEW = 5;

interface ZoneSpread {
  /** Pods of the owner in a zone. */
  pods(zone: string): number;
  zoneWeight: number;
}

/**
 * From the cache's zone index when the snapshot keeps one (O(1)); otherwise
 * counted by walking every node, and only once a scored node has a zone, so
 * that a cluster without zones never walks every node.
 */
function zoneSpread(owner: string, snapshot: Snapshot): ZoneSpread {
  const index = snapshot.zones;
  if (index) {
    return { pods: (zone) => index.ownerPods(zone, owner), zoneWeight: Math.log(index.size + 2) };
  }
  const zones = new Map<string, number>();
  for (const node of snapshot.nodes) {
    const zone = node.labels[ZONE_LABEL];
    if (zone === undefined) continue;
    zones.set(zone, (zones.get(zone) ?? 0) + (node.ownerCounts.get(owner) ?? 0));
  }
  return { pods: (zone) => zones.get(zone) ?? 0, zoneWeight: Math.log(zones.size + 2) };
}

function softConstraints(pod: PodInfo): SpreadConstraint[] {
  return pod.spreadConstraints.filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
}

/** A zone's part of a node's default-spreading score: the owner's pods in it, weighted by how many zones there are. */
function zoneTerm(s: ZoneSpread, zone: string): number {
  return s.pods(zone) * s.zoneWeight + (ZONE_MAX_SKEW - 1);
}

/** Default spreading of one node: the owner's pods on it, then in its zone (counted on first need). */
function defaultRaw(
  owner: string,
  nodeWeight: number,
  node: NodeInfo,
  zones: () => ZoneSpread,
): number {
  let raw = (node.ownerCounts.get(owner) ?? 0) * nodeWeight + (NODE_MAX_SKEW - 1);
  const zone = node.labels[ZONE_LABEL];
  if (zone !== undefined) raw += zoneTerm(zones(), zone);
  return raw;
}

function explicitRaw(
  constraints: readonly SpreadConstraint[],
  counts: SpreadCounts,
  node: NodeInfo,
): number {
  let raw = 0;
  constraints.forEach((c, i) => {
    const value = node.labels[c.topologyKey];
    if (value === undefined) return;
    const domains = counts.perDomain[i]!;
    raw += (domains.get(value) ?? 0) * Math.log(domains.size + 2) + (c.maxSkew - 1);
  });
  return raw;
}

export class TopologySpreadScore implements ScoreStage {
  readonly name = 'TopologySpreadScore';
  readonly normalize = 'reverse';

  constructor(readonly weight = 2) {}

  /**
   * Every node scores 0 for a pod with constraints but no ScheduleAnyway one
   * (its DoNotSchedule ones are the filter's), and for a pod with neither
   * constraints nor a controller to spread.
   */
  skip(pod: PodInfo): boolean {
    if (pod.spreadConstraints.length > 0) return softConstraints(pod).length === 0;
    return pod.controllerUid === undefined;
  }

  score(pod: PodInfo, node: NodeInfo, snapshot: Snapshot): number {
    if (pod.spreadConstraints.length > 0) {
      const constraints = softConstraints(pod);
      if (constraints.length === 0) return 0;
      return explicitRaw(constraints, this.counts(pod, constraints, snapshot), node);
    }
    const owner = pod.controllerUid;
    if (owner === undefined) return 0;
    return defaultRaw(owner, Math.log(snapshot.nodes.length + 2), node, () =>
      this.zones(pod, owner, snapshot),
    );
  }

  /** As `score`, with the owner, the constraints and log(nodes + 2) worked out once per attempt. */
  scoreAll(pod: PodInfo, nodes: readonly NodeInfo[], snapshot: Snapshot, out: Float64Array): void {
    if (pod.spreadConstraints.length > 0) {
      const constraints = softConstraints(pod);
      if (constraints.length === 0) {
        out.fill(0, 0, nodes.length);
        return;
      }
      const counts = this.counts(pod, constraints, snapshot);
      for (let i = 0; i < nodes.length; i++) out[i] = explicitRaw(constraints, counts, nodes[i]!);
      return;
    }
    const owner = pod.controllerUid;
    if (owner === undefined) {
      out.fill(0, 0, nodes.length);
      return;
    }
    const nodeWeight = Math.log(snapshot.nodes.length + 2);
    // The nodes share a handful of zones: each zone's term is worked out
    // once per attempt, not once per node (the same sum as defaultRaw's).
    const zoneTerms = new Map<string, number>();
    let spread: ZoneSpread | undefined;
    // The owner's pods per node from the cache's dense array when it keeps
    // one (owner-index.ts): an array read per node, not a map lookup.
    const bySlot = snapshot.ownerPodsBySlot?.(owner);
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      const pods = bySlot ? (bySlot[node.slot] ?? 0) : (node.ownerCounts.get(owner) ?? 0);
      let raw = pods * nodeWeight + (NODE_MAX_SKEW - 1);
      const zone = node.labels[ZONE_LABEL];
      if (zone !== undefined) {
        let term = zoneTerms.get(zone);
        if (term === undefined) {
          spread ??= this.zones(pod, owner, snapshot);
          term = zoneTerm(spread, zone);
          zoneTerms.set(zone, term);
        }
        raw += term;
      }
      out[i] = raw;
    }
  }

  private counts(pod: PodInfo, constraints: SpreadConstraint[], snapshot: Snapshot): SpreadCounts {
    return cycleMemo(pod, snapshot, this.name, () => countSpread(pod, constraints, snapshot));
  }

  private zones(pod: PodInfo, owner: string, snapshot: Snapshot): ZoneSpread {
    return cycleMemo(pod, snapshot, this.name, () => zoneSpread(owner, snapshot));
  }
}
