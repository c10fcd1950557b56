// Required pod affinity and anti-affinity (kube-scheduler's InterPodAffinity
// Filter). Topology domains are (topologyKey, node label value) pairs. Once
// per attempt it counts, per domain: pods matching the pod's affinity terms
// (all of them), pods matching each anti-affinity term, and placed pods whose
// own anti-affinity rejects this pod (the rule is symmetric). A node then
// passes if it is in a domain with a match for every affinity term, in none
// with an anti-affinity match, and in none a placed pod's rule forbids.
// The first pod of a group that must be together may go anywhere: when no pod
// anywhere matches and the pod matches its own terms, affinity is satisfied.

import {
  FITS,
  reject,
  type FilterStage,
  type NodeInfo,
  type PodInfo,
  type Snapshot,
  type Verdict,
} from '../types.js';
import type { PodAffinityTerm } from '../pod-info.js';
import { selectorPredicate } from '../label-selectors.js';
import { cycleMemo } from '../cycle-memo.js';

export const AFFINITY_REASON = "node(s) didn't match pod affinity rules";
export const ANTI_AFFINITY_REASON = "node(s) didn't match pod anti-affinity rules";
export const EXISTING_ANTI_AFFINITY_REASON =
  "node(s) didn't satisfy existing pods anti-affinity rules";

type DomainCounts = Map<string, number>;

interface AffinityState {
  /** Domains where a placed pod's required anti-affinity matches this pod. */
  existingAnti: DomainCounts;
  /** Domains with a pod matching all of this pod's affinity terms. */
  affinity: DomainCounts;
  /** Domains with a pod matching any of this pod's anti-affinity terms. */
  anti: DomainCounts;
}

const domain = (key: string, value: string): string => `${key}\0${value}`;

function bump(counts: DomainCounts, key: string, node: NodeInfo): void {
  const value = node.labels[key];
  if (value === undefined) return;
  const d = domain(key, value);
  counts.set(d, (counts.get(d) ?? 0) + 1);
}

export function termMatchesPod(term: PodAffinityTerm, pod: PodInfo): boolean {
  return (
    term.namespaces.includes(pod.namespace) && selectorPredicate(term.labelSelector)(pod.labels)
  );
}

function computeState(pod: PodInfo, snapshot: Snapshot): AffinityState {
  const state: AffinityState = { existingAnti: new Map(), affinity: new Map(), anti: new Map() };
  const own = pod.requiredAffinity.length > 0 || pod.requiredAntiAffinity.length > 0;
  for (const node of snapshot.nodes) {
    for (const placed of node.podsWithRequiredAntiAffinity) {
      for (const term of placed.requiredAntiAffinity) {
        if (termMatchesPod(term, pod)) bump(state.existingAnti, term.topologyKey, node);
      }
    }
    if (!own) continue;
    for (const placed of node.pods.values()) {
      if (placed.key === pod.key) continue;
      if (
        pod.requiredAffinity.length > 0 &&
        pod.requiredAffinity.every((t) => termMatchesPod(t, placed))
      ) {
        for (const term of pod.requiredAffinity) bump(state.affinity, term.topologyKey, node);
      }
      for (const term of pod.requiredAntiAffinity) {
        if (termMatchesPod(term, placed)) bump(state.anti, term.topologyKey, node);
      }
    }
  }
  return state;
}

function inDomain(counts: DomainCounts, key: string, node: NodeInfo): boolean {
  const value = node.labels[key];
  return value !== undefined && (counts.get(domain(key, value)) ?? 0) > 0;
}

export class InterPodAffinity implements FilterStage {
  readonly name = 'InterPodAffinity';

  /**
   * A pod without required terms of its own can only be rejected by a placed
   * pod's required anti-affinity (the symmetric rule). The snapshot counts
   * such pods across the cluster; while there are none, every node fits, and
   * the attempt need not walk every node to learn it. A snapshot that does
   * not count them never skips.
   */
  skip(pod: PodInfo, snapshot: Snapshot): boolean {
    return (
      pod.requiredAffinity.length === 0 &&
      pod.requiredAntiAffinity.length === 0 &&
      snapshot.podsWithRequiredAntiAffinity === 0
    );
  }

  filter(pod: PodInfo, node: NodeInfo, snapshot: Snapshot): Verdict {
    const state = cycleMemo(pod, snapshot, this.name, () => computeState(pod, snapshot));
    if (state.existingAnti.size > 0) {
      for (const key in node.labels) {
        if ((state.existingAnti.get(domain(key, node.labels[key]!)) ?? 0) > 0) {
          return reject(EXISTING_ANTI_AFFINITY_REASON);
        }
      }
    }
    if (pod.requiredAffinity.length === 0 && pod.requiredAntiAffinity.length === 0) return FITS;
    if (pod.requiredAffinity.length > 0) {
      const together = pod.requiredAffinity.every((t) =>
        inDomain(state.affinity, t.topologyKey, node),
      );
      if (!together) {
        const first =
          state.affinity.size === 0 && pod.requiredAffinity.every((t) => termMatchesPod(t, pod));
        // The first of its group still needs the topology label the group will share.
        const labelled = pod.requiredAffinity.every(
          (t) => node.labels[t.topologyKey] !== undefined,
        );
        if (!first || !labelled) return reject(AFFINITY_REASON);
      }
    }
    for (const term of pod.requiredAntiAffinity) {
      if (inDomain(state.anti, term.topologyKey, node)) return reject(ANTI_AFFINITY_REASON);
    }
    return FITS;
  }
}
