// spec.nodeSelector: every listed label must be on the node with that value.
// kube-scheduler checks it in its NodeAffinity plugin, hence the shared reason.

import {
  FITS,
  reject,
  type FilterStage,
  type NodeInfo,
  type PodInfo,
  type Verdict,
} from '../types.js';

export const NODE_AFFINITY_REASON = "node(s) didn't match Pod's node affinity/selector";

export class NodeSelector implements FilterStage {
  readonly name = 'NodeSelector';

  /** An empty nodeSelector asks nothing of any node. */
  skip(pod: PodInfo): boolean {
    return Object.keys(pod.nodeSelector).length === 0;
  }

  filter(pod: PodInfo, node: NodeInfo): Verdict {
    for (const k in pod.nodeSelector) {
      if (node.labels[k] !== pod.nodeSelector[k]) return reject(NODE_AFFINITY_REASON);
    }
    return FITS;
  }
}
