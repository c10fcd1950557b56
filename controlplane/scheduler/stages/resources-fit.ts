// Does the pod fit in what the node has left? Requests (never limits, never
// actual use) against allocatable, minus what placed and assumed pods
// request; a pod requesting nothing still takes one of the node's pod slots.
// Every shortage is reported, as kube-scheduler's NodeResourcesFit does.

import {
  FITS,
  reject,
  type FilterStage,
  type NodeInfo,
  type PodInfo,
  type Verdict,
} from '../types.js';

export const INSUFFICIENT_CPU = 'Insufficient cpu';
export const INSUFFICIENT_MEMORY = 'Insufficient memory';
export const INSUFFICIENT_EPHEMERAL_STORAGE = 'Insufficient ephemeral-storage';
export const TOO_MANY_PODS = 'Too many pods';

export class ResourcesFit implements FilterStage {
  readonly name = 'ResourcesFit';

  filter(pod: PodInfo, node: NodeInfo): Verdict {
    const want = pod.requests;
    const free = node.allocatable;
    const used = node.requested;
    const pods = used.pods + 1 > free.pods;
    const cpu = want.milliCpu > 0 && used.milliCpu + want.milliCpu > free.milliCpu;
    const memory = want.memory > 0 && used.memory + want.memory > free.memory;
    // A node that reports no ephemeral storage is not checked for it, as kubelets without the capacity are not.
    const storage =
      want.ephemeralStorage > 0 &&
      free.ephemeralStorage > 0 &&
      used.ephemeralStorage + want.ephemeralStorage > free.ephemeralStorage;
    // The common case allocates nothing: this runs for every node on every attempt.
    if (!pods && !cpu && !memory && !storage) return FITS;
    const reasons: string[] = [];
    if (pods) reasons.push(TOO_MANY_PODS);
    if (cpu) reasons.push(INSUFFICIENT_CPU);
    if (memory) reasons.push(INSUFFICIENT_MEMORY);
    if (storage) reasons.push(INSUFFICIENT_EPHEMERAL_STORAGE);
    const [first, ...more] = reasons;
    return reject(first!, ...more);
  }
}
