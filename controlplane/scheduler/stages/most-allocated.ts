// Bin-packing, chosen by configuration: prefer the node that is fullest after
// placing the pod, so whole nodes stay free (kube-scheduler's MostAllocated).
// Each resource scores requested × 100 / allocatable (a request beyond
// allocatable counts as full); the node's score is their mean.

import type { NodeInfo, PodInfo, ScoreStage, Snapshot } from '../types.js';

export function mostAllocated(requested: number, allocatable: number): number {
  if (allocatable <= 0) return 0;
  return Math.floor((Math.min(requested, allocatable) * 100) / allocatable);
}

export class MostAllocated implements ScoreStage {
  readonly name = 'MostAllocated';
  readonly normalize = 'none';

  constructor(readonly weight = 1) {}

  score(pod: PodInfo, node: NodeInfo): number {
    const cpu = mostAllocated(
      node.nonZeroRequested.milliCpu + pod.nonZeroRequests.milliCpu,
      node.allocatable.milliCpu,
    );
    const memory = mostAllocated(
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
      const cpu = mostAllocated(
        node.nonZeroRequested.milliCpu + milliCpu,
        node.allocatable.milliCpu,
      );
      const mem = mostAllocated(node.nonZeroRequested.memory + memory, node.allocatable.memory);
      out[i] = Math.floor((cpu + mem) / 2);
    }
  }
}
