// spec.nodeName: a pod that names its node fits only there. The scheduler
// never queues such pods (they are bound already), but the pipeline is also
// a pure function other callers may ask, so the check stays, as in
// kube-scheduler's NodeName plugin.

import {
  FITS,
  reject,
  type FilterStage,
  type NodeInfo,
  type PodInfo,
  type Verdict,
} from '../types.js';

export const NODE_NAME_REASON = "node(s) didn't match the requested node name";

export class NodeName implements FilterStage {
  readonly name = 'NodeName';

  /** A pod that names no node fits every node here. */
  skip(pod: PodInfo): boolean {
    return pod.nodeName === '';
  }

  filter(pod: PodInfo, node: NodeInfo): Verdict {
    return pod.nodeName === '' || pod.nodeName === node.name ? FITS : reject(NODE_NAME_REASON);
  }
}
