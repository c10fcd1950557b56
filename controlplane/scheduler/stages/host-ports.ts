// Host ports are a node-wide resource: two pods cannot take the same port
// and protocol on overlapping addresses (0.0.0.0 overlaps every address).

import {
  FITS,
  reject,
  type FilterStage,
  type NodeInfo,
  type PodInfo,
  type Verdict,
} from '../types.js';
import type { HostPort } from '../pod-info.js';

export const HOST_PORTS_REASON = "node(s) didn't have free ports for the requested pod ports";

const WILDCARD = '0.0.0.0';

export function portsConflict(a: HostPort, b: HostPort): boolean {
  return (
    a.port === b.port &&
    a.protocol === b.protocol &&
    (a.hostIP === b.hostIP || a.hostIP === WILDCARD || b.hostIP === WILDCARD)
  );
}

export class HostPorts implements FilterStage {
  readonly name = 'HostPorts';

  /** A pod that takes no host port cannot conflict with any. */
  skip(pod: PodInfo): boolean {
    return pod.hostPorts.length === 0;
  }

  filter(pod: PodInfo, node: NodeInfo): Verdict {
    if (pod.hostPorts.length === 0) return FITS;
    for (const placed of node.pods.values()) {
      for (const used of placed.hostPorts) {
        if (pod.hostPorts.some((want) => portsConflict(want, used)))
          return reject(HOST_PORTS_REASON);
      }
    }
    return FITS;
  }
}
