// The contract between the pipeline and its stages, after Kubernetes'
// scheduler framework: a filter answers a verdict value (never throws), a
// score stage answers a raw number the pipeline normalises to 0–100, and both
// read one read-only Snapshot of the cluster. Stages keep no state between
// calls: the same pod, node and snapshot always give the same answer.

import type { KubeObject } from '../api/objects.js';
import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';

export type { NodeInfo } from './node-info.js';
export type { PodInfo } from './pod-info.js';

/**
 * A rejection carries kube-scheduler's reason text, which the unschedulable
 * message counts. A node can fail one stage for several reasons at once
 * ("Insufficient cpu" and "Insufficient memory"): those after the first go
 * in `more`, and each is counted.
 */
export type Verdict = { ok: true } | { ok: false; reason: string; more?: readonly string[] };

export const FITS: Verdict = Object.freeze({ ok: true });

export function reject(reason: string, ...more: string[]): Verdict {
  return more.length > 0 ? { ok: false, reason, more } : { ok: false, reason };
}

export interface FilterStage {
  readonly name: string;
  filter(pod: PodInfo, node: NodeInfo, snapshot: Snapshot): Verdict;
  /**
   * kube-scheduler's PreFilter returning Skip: true when `filter` would answer
   * FITS on every node of this snapshot for this pod, so the pipeline leaves
   * the stage out of the attempt (asked once per attempt, not per node). Only
   * ever true when that is certain: a stage that is skipped wrongly changes
   * placements and messages.
   */
  skip?(pod: PodInfo, snapshot: Snapshot): boolean;
}

/**
 * How raw scores become 0–100 over the feasible nodes (kube-scheduler's
 * DefaultNormalizeScore): 'max' scales so the highest raw score gets 100;
 * 'reverse' does the same and then turns it round, for raw scores where less
 * is better (taint counts, pods already there); 'none' means the stage
 * already answers 0–100.
 */
export type Normalization = 'max' | 'reverse' | 'none';

export interface ScoreStage {
  readonly name: string;
  readonly weight: number;
  readonly normalize: Normalization;
  score(pod: PodInfo, node: NodeInfo, snapshot: Snapshot): number;
  /**
   * kube-scheduler's PreScore returning Skip: true when `score` would give
   * every node the same raw score, so every node gets the same normalised
   * score and the stage cannot change which node wins (totals are integers,
   * so adding the same amount to each keeps their order and ties exactly).
   */
  skip?(pod: PodInfo, snapshot: Snapshot): boolean;
  /**
   * Optional: the raw score of every node at once, into `out` (same order),
   * equal to `score` node by node. For stages with per-attempt constants
   * (a logarithm, the pod's owner, the tolerations that count) worked out
   * once instead of once per node.
   */
  scoreAll?(pod: PodInfo, nodes: readonly NodeInfo[], snapshot: Snapshot, out: Float64Array): void;
}

/**
 * The cluster as one scheduling attempt sees it: every node with the pods
 * placed on it, bound or assumed (their bind in flight). Read-only; it does
 * not change while an attempt runs, because the pipeline is synchronous and
 * the cache only changes between attempts. `version` changes whenever the
 * content does, which lets a stage memoise per-attempt work safely
 * (cycle-memo.ts).
 */
export interface Snapshot {
  readonly version: number;
  readonly nodes: readonly NodeInfo[];
  get(name: string): NodeInfo | undefined;
  /**
   * How many placed pods carry required pod anti-affinity, counted over every
   * node the cache knows (so never fewer than over `nodes`). When 0, no
   * placed pod's rule can reject a newcomer and InterPodAffinity may skip a
   * pod without terms of its own; absent, it never skips.
   */
  readonly podsWithRequiredAntiAffinity?: number;
  /**
   * Listed nodes that are cordoned or not Ready. When 0, NodeReady would pass
   * every node and is skipped; absent, it never skips.
   */
  readonly unreadyOrCordonedNodes?: number;
  /**
   * Listed nodes with a NoSchedule or NoExecute taint. When 0,
   * TaintToleration would pass every node and is skipped; absent, it never
   * skips.
   */
  readonly nodesWithHardTaints?: number;
  /**
   * Listed nodes with a PreferNoSchedule taint. When 0, TaintPreferNoSchedule
   * would score every node 0 and is skipped; absent, it never skips.
   */
  readonly nodesWithPreferNoScheduleTaints?: number;
  /**
   * Pods per controller per zone, kept current by the cache (zone-index.ts);
   * absent, TopologySpreadScore counts them by walking every node.
   */
  readonly zones?: ZoneCounts;
  /**
   * The placed pods of controller `owner` on each node, indexed by
   * NodeInfo.slot (the same numbers as the nodes' ownerCounts); absent,
   * TopologySpreadScore looks in each node's ownerCounts.
   */
  ownerPodsBySlot?(owner: string): ArrayLike<number>;
  /** Claims, volumes and classes for VolumeBinding; absent, pods' claims are not checked. */
  readonly volumes?: VolumeCatalog;
}

/** Over the snapshot's nodes labelled topology.kubernetes.io/zone. */
export interface ZoneCounts {
  /** How many distinct zones the nodes are in. */
  readonly size: number;
  /** Placed pods whose controller has uid `owner`, on the nodes of `zone`. */
  ownerPods(zone: string, owner: string): number;
}

/** The claims, volumes and storage classes as the scheduler's informers hold them. */
export interface VolumeCatalog {
  claim(namespace: string, name: string): KubeObject | undefined;
  volume(name: string): KubeObject | undefined;
  storageClass(name: string): KubeObject | undefined;
  volumes(): readonly KubeObject[];
}
