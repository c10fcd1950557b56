// topologySpreadConstraints with whenUnsatisfiable: DoNotSchedule (kube-
// scheduler's PodTopologySpread Filter). Once per attempt it counts, per
// domain of each constraint's topologyKey, the pods in the pod's namespace
// that match the constraint's selector (terminating pods excluded), over the
// nodes the pod could go to by its nodeSelector and node affinity (the
// default nodeAffinityPolicy: Honor) that carry every constraint's key. A
// node then fits if placing the pod there leaves its domain at most maxSkew
// above the emptiest domain (taken as 0 while there are fewer domains than
// minDomains).

import {
  FITS,
  reject,
  type FilterStage,
  type NodeInfo,
  type PodInfo,
  type Snapshot,
  type Verdict,
} from '../types.js';
import type { SpreadConstraint } from '../pod-info.js';
import { selectorPredicate } from '../label-selectors.js';
import { nodeMatchesPodPlacement } from '../node-selector-terms.js';
import { cycleMemo } from '../cycle-memo.js';

export const SPREAD_REASON = "node(s) didn't match pod topology spread constraints";
export const SPREAD_LABEL_REASON =
  "node(s) didn't match pod topology spread constraints (missing required label)";

export interface SpreadCounts {
  /** Matching pods per domain value, one map per constraint (same order). */
  perDomain: Map<string, number>[];
}

/** Counts matching pods per domain for `constraints` over the nodes eligible for `pod`. */
export function countSpread(
  pod: PodInfo,
  constraints: readonly SpreadConstraint[],
  snapshot: Snapshot,
): SpreadCounts {
  const perDomain = constraints.map(() => new Map<string, number>());
  const selectors = constraints.map((c) => selectorPredicate(c.labelSelector));
  for (const node of snapshot.nodes) {
    if (!constraints.every((c) => node.labels[c.topologyKey] !== undefined)) continue;
    if (!nodeMatchesPodPlacement(pod, node)) continue;
    constraints.forEach((c, i) => {
      const value = node.labels[c.topologyKey]!;
      const counts = perDomain[i]!;
      let n = 0;
      for (const placed of node.pods.values()) {
        if (placed.terminating || placed.namespace !== pod.namespace || placed.key === pod.key)
          continue;
        if (selectors[i]!(placed.labels)) n++;
      }
      counts.set(value, (counts.get(value) ?? 0) + n);
    });
  }
  return { perDomain };
}

function hardConstraints(pod: PodInfo): SpreadConstraint[] {
  return pod.spreadConstraints.filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
}

export class TopologySpread implements FilterStage {
  readonly name = 'TopologySpread';

  /** ScheduleAnyway constraints only score (topology-spread-score.ts); without DoNotSchedule ones every node fits. */
  skip(pod: PodInfo): boolean {
    return !pod.spreadConstraints.some((c) => c.whenUnsatisfiable === 'DoNotSchedule');
  }

  filter(pod: PodInfo, node: NodeInfo, snapshot: Snapshot): Verdict {
    const constraints = hardConstraints(pod);
    if (constraints.length === 0) return FITS;
    if (!constraints.every((c) => node.labels[c.topologyKey] !== undefined))
      return reject(SPREAD_LABEL_REASON);
    const { perDomain } = cycleMemo(pod, snapshot, this.name, () =>
      countSpread(pod, constraints, snapshot),
    );
    for (const [i, c] of constraints.entries()) {
      const counts = perDomain[i]!;
      let min = counts.size < c.minDomains ? 0 : Infinity;
      for (const n of counts.values()) min = Math.min(min, n);
      if (min === Infinity) min = 0;
      const self = selectorPredicate(c.labelSelector)(pod.labels) ? 1 : 0;
      const here = counts.get(node.labels[c.topologyKey]!) ?? 0;
      if (here + self - min > c.maxSkew) return reject(SPREAD_REASON);
    }
    return FITS;
  }
}
