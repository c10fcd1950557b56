// Toleration matching (v1helper.ToleratesTaint): a toleration with an effect
// covers only that effect; one with a key covers only that key, and with no
// key (operator Exists) every key; Exists ignores the value, Equal (the
// default) needs the same value. tolerationSeconds only matters to eviction,
// never to scheduling, so it is not read.

import type { Taint } from './node-info.js';
import type { Toleration } from './pod-info.js';

export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect !== '' && t.effect !== taint.effect) return false;
  if (t.key !== '' && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  return t.value === taint.value;
}

export function tolerated(taint: Taint, tolerations: readonly Toleration[]): boolean {
  return tolerations.some((t) => toleratesTaint(t, taint));
}

/** The first taint with one of `effects` that no toleration covers. */
export function firstUntolerated(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
  effects: readonly string[],
): Taint | undefined {
  return taints.find((taint) => effects.includes(taint.effect) && !tolerated(taint, tolerations));
}

/** kube-scheduler's reason for a taint the pod does not tolerate. */
export function untoleratedReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value}}`;
}
