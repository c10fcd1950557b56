// Where a pod goes: every node through the filters, cheapest and most
// decisive first, then the nodes left through the weighted score stages,
// and the best of them (ties broken at random) is the answer. A pure function
// of the pod and the snapshot: no I/O, no clock; randomness is injected.
// When no node is left, the answer is kube-scheduler's FitError message,
// counting each node's reasons.

import type { FilterStage, NodeInfo, PodInfo, ScoreStage, Snapshot } from './types.js';
import { NodeReady } from './stages/node-ready.js';
import { NodeName } from './stages/node-name.js';
import { TaintToleration } from './stages/taint-toleration.js';
import { NodeSelector } from './stages/node-selector.js';
import { NodeAffinity } from './stages/node-affinity.js';
import { HostPorts } from './stages/host-ports.js';
import { ResourcesFit } from './stages/resources-fit.js';
import { TopologySpread } from './stages/topology-spread.js';
import { InterPodAffinity } from './stages/inter-pod-affinity.js';
import { VolumeBinding } from './stages/volume-binding.js';
import { LeastAllocated } from './stages/least-allocated.js';
import { MostAllocated } from './stages/most-allocated.js';
import { TopologySpreadScore } from './stages/topology-spread-score.js';
import { PreferredNodeAffinity } from './stages/preferred-node-affinity.js';
import { TaintPreferNoSchedule } from './stages/taint-prefer-no-schedule.js';

export const MAX_SCORE = 100;

export type Scoring = 'LeastAllocated' | 'MostAllocated';

export interface Pipeline {
  readonly filters: readonly FilterStage[];
  readonly scores: readonly ScoreStage[];
}

/**
 * The stages in kube-scheduler's default order. A node stops at its first
 * rejection, so the order decides which reason a node is counted under;
 * keeping Kubernetes' order makes the unschedulable message read as
 * kube-scheduler's would. It is also cheap-first: constant-time checks on
 * the node alone, then the pod's own label and port rules, then the two
 * stages that must look across the whole cluster once per attempt.
 */
export function defaultPipeline(opts: { scoring?: Scoring } = {}): Pipeline {
  return {
    filters: [
      new NodeReady(), // O(1), and a cordoned or NotReady node is out whatever else fits
      new NodeName(), // O(1) string compare
      new TaintToleration(), // a handful of taints × tolerations; before affinity as in kube-scheduler
      new NodeSelector(), // a few label lookups
      new NodeAffinity(), // terms × expressions, still only this node's labels
      new HostPorts(), // free unless the pod asks for host ports; then scans the node's pods
      new ResourcesFit(), // O(1) on the node's running totals
      new VolumeBinding(), // the pod's claims: a map lookup each; pods without claims skip it
      new TopologySpread(), // counts pods across the cluster (once per attempt, memoised): late
      new InterPodAffinity(), // the same, per affinity term: last, so few nodes reach it
    ],
    scores: [
      opts.scoring === 'MostAllocated' ? new MostAllocated(1) : new LeastAllocated(1),
      new TopologySpreadScore(2),
      new PreferredNodeAffinity(2),
      new TaintPreferNoSchedule(3),
    ],
  };
}

export const NO_NODES_MESSAGE = 'no nodes available to schedule pods';

export type ScheduleResult =
  | {
      node: string;
      /** Feasible nodes found (the scored ones). */
      feasible: number;
      /** Nodes looked at; the next attempt starts that far on (ScheduleOptions.startIndex). */
      evaluated: number;
    }
  | {
      unschedulable: string;
      /** How many nodes were rejected for each reason. */
      reasons: ReadonlyMap<string, number>;
    };

export interface ScheduleOptions {
  pipeline?: Pipeline;
  /** Uniform in [0, 1); ties between best nodes go by it. */
  random?: () => number;
  /**
   * Stop filtering once this percentage of the nodes is found feasible
   * (kube-scheduler's percentageOfNodesToScore); 0 or unset: its adaptive
   * default, 50% − 1% per 125 nodes, at least 5%, and never fewer than 100
   * nodes. 100 looks at every node.
   */
  percentageOfNodesToScore?: number;
  /** Where in snapshot.nodes to begin, so that a partial search does not always favour the same nodes. */
  startIndex?: number;
}

/** kube-scheduler's FitError.Error(): "count reason" strings sorted as strings. */
export function unschedulableMessage(total: number, reasons: ReadonlyMap<string, number>): string {
  if (total === 0) return NO_NODES_MESSAGE;
  const parts = [...reasons].map(([reason, n]) => `${n} ${reason}`).sort();
  return `0/${total} nodes are available: ${parts.join(', ')}.`;
}

const MIN_FEASIBLE_NODES = 100;
const MIN_FEASIBLE_PERCENTAGE = 5;

/** numFeasibleNodesToFind: on a large cluster, the best of a good many nodes is good enough. */
export function feasibleNodesToFind(total: number, percentage = 0): number {
  if (total < MIN_FEASIBLE_NODES || percentage >= 100) return total;
  let p = percentage;
  if (p <= 0) p = Math.max(MIN_FEASIBLE_PERCENTAGE, 50 - Math.floor(total / 125));
  return Math.max(MIN_FEASIBLE_NODES, Math.floor((total * p) / 100));
}

const DEFAULT_PIPELINE = defaultPipeline();

export function schedule(
  pod: PodInfo,
  snapshot: Snapshot,
  opts: ScheduleOptions = {},
): ScheduleResult {
  const pipeline = opts.pipeline ?? DEFAULT_PIPELINE;
  // Asked once per attempt (kube-scheduler's PreFilter/PreScore Skip): a
  // plain ReplicaSet pod, in a cluster where no placed pod has required
  // anti-affinity, runs 3 filters per node instead of 10. A skipped filter
  // would have passed every node, so verdicts, reasons and messages are
  // unchanged.
  const filters = pipeline.filters.filter((s) => !s.skip?.(pod, snapshot));
  const nodes = snapshot.nodes;
  const total = nodes.length;
  const wanted = feasibleNodesToFind(total, opts.percentageOfNodesToScore);
  const start = total === 0 ? 0 : (opts.startIndex ?? 0) % total;
  const feasible: NodeInfo[] = [];
  const reasons = new Map<string, number>();
  let evaluated = 0;
  while (evaluated < total && feasible.length < wanted) {
    const node = nodes[(start + evaluated) % total]!;
    evaluated++;
    let fits = true;
    for (const stage of filters) {
      const v = stage.filter(pod, node, snapshot);
      if (v.ok) continue;
      fits = false;
      reasons.set(v.reason, (reasons.get(v.reason) ?? 0) + 1);
      for (const r of v.more ?? []) reasons.set(r, (reasons.get(r) ?? 0) + 1);
      break;
    }
    if (fits) feasible.push(node);
  }
  if (feasible.length === 0)
    return { unschedulable: unschedulableMessage(total, reasons), reasons };
  if (feasible.length === 1) return { node: feasible[0]!.name, feasible: 1, evaluated };
  const scores = pipeline.scores.filter((s) => !s.skip?.(pod, snapshot));
  const totals = scoreNodes(pod, feasible, scores, snapshot);
  const best = pickBest(feasible, totals, opts.random ?? Math.random);
  return { node: best.name, feasible: feasible.length, evaluated };
}

/** Weighted sum of every stage's normalised score, per feasible node. */
export function scoreNodes(
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  stages: readonly ScoreStage[],
  snapshot: Snapshot,
): Float64Array {
  const totals = new Float64Array(nodes.length);
  const raw = new Float64Array(nodes.length);
  for (const stage of stages) {
    if (stage.scoreAll) stage.scoreAll(pod, nodes, snapshot, raw);
    else for (let i = 0; i < nodes.length; i++) raw[i] = stage.score(pod, nodes[i]!, snapshot);
    normalize(raw, stage.normalize);
    for (let i = 0; i < nodes.length; i++) totals[i]! += stage.weight * raw[i]!;
  }
  return totals;
}

/** kube-scheduler's DefaultNormalizeScore, in place; integer results like Go's int64 arithmetic. */
export function normalize(raw: Float64Array, how: ScoreStage['normalize']): void {
  if (how === 'none') {
    for (let i = 0; i < raw.length; i++) raw[i] = Math.max(0, Math.min(MAX_SCORE, raw[i]!));
    return;
  }
  let max = 0;
  for (const v of raw) max = Math.max(max, v);
  for (let i = 0; i < raw.length; i++) {
    const scaled = max === 0 ? 0 : Math.floor((MAX_SCORE * raw[i]!) / max);
    raw[i] = how === 'reverse' ? MAX_SCORE - scaled : scaled;
  }
}

/** The highest total; among equals each is equally likely (reservoir sampling, as selectHost). */
function pickBest(
  nodes: readonly NodeInfo[],
  totals: Float64Array,
  random: () => number,
): NodeInfo {
  let best = 0;
  let ties = 1;
  for (let i = 1; i < nodes.length; i++) {
    if (totals[i]! > totals[best]!) {
      best = i;
      ties = 1;
    } else if (totals[i] === totals[best]) {
      ties++;
      if (random() * ties < 1) best = i;
    }
  }
  return nodes[best]!;
}
