// Is the node taking pods at all? A cordoned node (spec.unschedulable) and a
// node that is not Ready are out, unless the pod tolerates the taint
// Kubernetes puts on such nodes (DaemonSet pods do). kube-scheduler sees
// these as the taints the node lifecycle controller adds; Shoal reads the
// condition itself, so a node is refused the moment it reports NotReady, and
// the reason reads as kube-scheduler's does for the taint.

import {
  FITS,
  reject,
  type FilterStage,
  type NodeInfo,
  type PodInfo,
  type Snapshot,
  type Verdict,
} from '../types.js';
import { tolerated, untoleratedReason } from '../tolerations.js';
import type { Taint } from '../node-info.js';

export const UNSCHEDULABLE_REASON = 'node(s) were unschedulable';

const UNSCHEDULABLE_TAINT: Taint = {
  key: 'node.kubernetes.io/unschedulable',
  value: '',
  effect: 'NoSchedule',
};
const NOT_READY_TAINT: Taint = {
  key: 'node.kubernetes.io/not-ready',
  value: '',
  effect: 'NoSchedule',
};
const UNREACHABLE_TAINT: Taint = {
  key: 'node.kubernetes.io/unreachable',
  value: '',
  effect: 'NoSchedule',
};

/** A node NodeReady passes whatever the pod tolerates. */
export function readyAndUncordoned(node: NodeInfo): boolean {
  return !node.unschedulable && node.ready === 'True';
}

export class NodeReady implements FilterStage {
  readonly name = 'NodeReady';

  /** While every listed node is Ready and uncordoned (the cache counts them), every node fits. */
  skip(_pod: PodInfo, snapshot: Snapshot): boolean {
    return snapshot.unreadyOrCordonedNodes === 0;
  }

  filter(pod: PodInfo, node: NodeInfo): Verdict {
    if (node.unschedulable && !tolerated(UNSCHEDULABLE_TAINT, pod.tolerations)) {
      return reject(UNSCHEDULABLE_REASON);
    }
    if (node.ready === 'True') return FITS;
    const taint = node.ready === 'False' ? NOT_READY_TAINT : UNREACHABLE_TAINT;
    return tolerated(taint, pod.tolerations) ? FITS : reject(untoleratedReason(taint));
  }
}
