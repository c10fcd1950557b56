// Required node affinity: at least one nodeSelectorTerm must match the node
// (node-selector-terms.ts has the operators). A pod without the rule fits.

import {
  FITS,
  reject,
  type FilterStage,
  type NodeInfo,
  type PodInfo,
  type Verdict,
} from '../types.js';
import { anyTermMatches } from '../node-selector-terms.js';
import { NODE_AFFINITY_REASON } from './node-selector.js';

export class NodeAffinity implements FilterStage {
  readonly name = 'NodeAffinity';

  /** Only an absent rule fits everywhere: a rule with no terms matches no node. */
  skip(pod: PodInfo): boolean {
    return pod.requiredNodeTerms === undefined;
  }

  filter(pod: PodInfo, node: NodeInfo): Verdict {
    if (pod.requiredNodeTerms === undefined) return FITS;
    return anyTermMatches(pod.requiredNodeTerms, node) ? FITS : reject(NODE_AFFINITY_REASON);
  }
}
