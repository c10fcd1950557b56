// preferredDuringSchedulingIgnoredDuringExecution: a node earns the weight of
// every preference term it matches; the pipeline scales the sums so the best
// node gets 100 (kube-scheduler's NodeAffinity Score).

import type { NodeInfo, PodInfo, ScoreStage } from '../types.js';
import { termMatches } from '../node-selector-terms.js';

export class PreferredNodeAffinity implements ScoreStage {
  readonly name = 'PreferredNodeAffinity';
  readonly normalize = 'max';

  constructor(readonly weight = 2) {}

  /** Without a term of positive weight every node sums to 0. */
  skip(pod: PodInfo): boolean {
    return !pod.preferredNodeTerms.some((t) => t.weight > 0);
  }

  score(pod: PodInfo, node: NodeInfo): number {
    let sum = 0;
    for (const t of pod.preferredNodeTerms)
      if (t.weight > 0 && termMatches(t.preference, node)) sum += t.weight;
    return sum;
  }
}
