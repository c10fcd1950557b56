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
  /** Claims, volumes and classes for VolumeBinding; absent, pods' claims are not checked. */
  readonly volumes?: VolumeCatalog;
}

/** The claims, volumes and storage classes as the scheduler's informers hold them. */
export interface VolumeCatalog {
  claim(namespace: string, name: string): KubeObject | undefined;
  volume(name: string): KubeObject | undefined;
  storageClass(name: string): KubeObject | undefined;
  volumes(): readonly KubeObject[];
}
