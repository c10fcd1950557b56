// PreferNoSchedule taints: a node scores lower for each one the pod does not
// tolerate (only tolerations with no effect or PreferNoSchedule count, as in
// kube-scheduler's TaintToleration Score); the pipeline reverses the counts.

import type { NodeInfo, PodInfo, ScoreStage, Snapshot } from '../types.js';
import type { Taint } from '../node-info.js';
import type { Toleration } from '../pod-info.js';
import { tolerated } from '../tolerations.js';

function untoleratedPreferNoSchedule(taints: readonly Taint[], tolerations: Toleration[]): number {
  let n = 0;
  for (const taint of taints) {
    if (taint.effect === 'PreferNoSchedule' && !tolerated(taint, tolerations)) n++;
  }
  return n;
}

/** A node TaintPreferNoSchedule may score above 0. */
export function hasPreferNoScheduleTaint(node: NodeInfo): boolean {
  return node.taints.some((t) => t.effect === 'PreferNoSchedule');
}

function preferNoScheduleTolerations(pod: PodInfo): Toleration[] {
  return pod.tolerations.filter((t) => t.effect === '' || t.effect === 'PreferNoSchedule');
}

export class TaintPreferNoSchedule implements ScoreStage {
  readonly name = 'TaintPreferNoSchedule';
  readonly normalize = 'reverse';

  constructor(readonly weight = 3) {}

  /** While no listed node has a PreferNoSchedule taint (the cache counts them), every node scores 0. */
  skip(_pod: PodInfo, snapshot: Snapshot): boolean {
    return snapshot.nodesWithPreferNoScheduleTaints === 0;
  }

  score(pod: PodInfo, node: NodeInfo): number {
    if (node.taints.length === 0) return 0;
    return untoleratedPreferNoSchedule(node.taints, preferNoScheduleTolerations(pod));
  }

  /** The tolerations that count are picked once per attempt, and only if some node is tainted. */
  scoreAll(pod: PodInfo, nodes: readonly NodeInfo[], _snapshot: Snapshot, out: Float64Array): void {
    let tolerations: Toleration[] | undefined;
    for (let i = 0; i < nodes.length; i++) {
      const taints = nodes[i]!.taints;
      if (taints.length === 0) {
        out[i] = 0;
        continue;
      }
      tolerations ??= preferNoScheduleTolerations(pod);
      out[i] = untoleratedPreferNoSchedule(taints, tolerations);
    }
  }
}
