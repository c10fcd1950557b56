// PreferNoSchedule taints: a node scores lower for each one the pod does not
// tolerate (only tolerations with no effect or PreferNoSchedule count, as in
// kube-scheduler's TaintToleration Score); the pipeline reverses the counts.

import type { NodeInfo, PodInfo, ScoreStage } from '../types.js';
import { tolerated } from '../tolerations.js';

export class TaintPreferNoSchedule implements ScoreStage {
  readonly name = 'TaintPreferNoSchedule';
  readonly normalize = 'reverse';

  constructor(readonly weight = 3) {}

  score(pod: PodInfo, node: NodeInfo): number {
    if (node.taints.length === 0) return 0;
    const tolerations = pod.tolerations.filter(
      (t) => t.effect === '' || t.effect === 'PreferNoSchedule',
    );
    let n = 0;
    for (const taint of node.taints) {
      if (taint.effect === 'PreferNoSchedule' && !tolerated(taint, tolerations)) n++;
    }
    return n;
  }
}
