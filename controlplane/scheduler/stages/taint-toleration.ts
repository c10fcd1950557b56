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
  type Verdict,
} from '../types.js';
import { firstUntolerated, untoleratedReason } from '../tolerations.js';

const EFFECTS = ['NoSchedule', 'NoExecute'] as const;

export class TaintToleration implements FilterStage {
  readonly name = 'TaintToleration';

  filter(pod: PodInfo, node: NodeInfo): Verdict {
    // Most nodes have no taints: answer without walking the tolerations.
    if (node.taints.length === 0) return FITS;
    const taint = firstUntolerated(node.taints, pod.tolerations, EFFECTS);
    return taint ? reject(untoleratedReason(taint)) : FITS;
  }
}
