// Taints with effect NoSchedule or NoExecute keep out every pod that does not
// tolerate them; the reason names the first such taint, as kube-scheduler's
// TaintToleration does. PreferNoSchedule only lowers a node's score
// (taint-prefer-no-schedule.ts).

import {
  FITS,
  reject,
  type FilterStage,
  type NodeInfo,
  type PodInfo,
  type Snapshot,
  type Verdict,
} from '../types.js';
import { firstUntolerated, untoleratedReason } from '../tolerations.js';

export const HARD_TAINT_EFFECTS = ['NoSchedule', 'NoExecute'] as const;

/** A node with a taint that keeps out pods not tolerating it. */
export function hasHardTaint(node: NodeInfo): boolean {
  return node.taints.some((t) => (HARD_TAINT_EFFECTS as readonly string[]).includes(t.effect));
}

export class TaintToleration implements FilterStage {
  readonly name = 'TaintToleration';

  /** While no listed node has a NoSchedule or NoExecute taint (the cache counts them), every node fits. */
  skip(_pod: PodInfo, snapshot: Snapshot): boolean {
    return snapshot.nodesWithHardTaints === 0;
  }

  filter(pod: PodInfo, node: NodeInfo): Verdict {
    // Most nodes have no taints: answer without walking the tolerations.
    if (node.taints.length === 0) return FITS;
    const taint = firstUntolerated(node.taints, pod.tolerations, HARD_TAINT_EFFECTS);
    return taint ? reject(untoleratedReason(taint)) : FITS;
  }
}
