// The default score: prefer the node with the most cpu and memory left after
// placing the pod, which spreads load (kube-scheduler's LeastAllocated).
// Each resource scores (allocatable − requested) × 100 / allocatable; the
// node's score is their mean. Requests here count unset cpu/memory as
// 100m/200Mi, so pods that declare nothing still spread.

import type { NodeInfo, PodInfo, ScoreStage, Snapshot } from '../types.js';

export function leastAllocated(requested: number, allocatable: number): number {
  if (allocatable <= 0 || requested > allocatable) return 0;
  return Math.floor(((allocatable - requested) * 100) / allocatable);
}

export class LeastAllocated implements ScoreStage {
  readonly name = 'LeastAllocated';
  readonly normalize = 'none';

  constructor(readonly weight = 1) {}

  score(pod: PodInfo, node: NodeInfo): number {
    const cpu = leastAllocated(
      node.nonZeroRequested.milliCpu + pod.nonZeroRequests.milliCpu,
      node.allocatable.milliCpu,
    );
    const memory = leastAllocated(
      node.nonZeroRequested.memory + pod.nonZeroRequests.memory,
      node.allocatable.memory,
    );
    return Math.floor((cpu + memory) / 2);
  }

  /** As `score` for every node: the one call per attempt keeps this loop free of a call per node. */
  scoreAll(pod: PodInfo, nodes: readonly NodeInfo[], _snapshot: Snapshot, out: Float64Array): void {
    const { milliCpu, memory } = pod.nonZeroRequests;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      const cpu = leastAllocated(
        node.nonZeroRequested.milliCpu + milliCpu,
        node.allocatable.milliCpu,
      );
      const mem = leastAllocated(node.nonZeroRequested.memory + memory, node.allocatable.memory);
      out[i] = Math.floor((cpu + mem) / 2);
    }
  }
}
