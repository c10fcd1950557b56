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
  // anti-affinity, runs 3 filters per node instead of 10, and only
  // ResourcesFit while no node is cordoned, NotReady or tainted. A skipped filter
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
  // The index wraps by comparison rather than `%`: this loop runs for
  // hundreds of nodes on every attempt.
  let at = start;
  while (evaluated < total && feasible.length < wanted) {
    const node = nodes[at]!;
    if (++at === total) at = 0;
    evaluated++;
    if (fitsAll(filters, pod, node, snapshot, reasons)) feasible.push(node);
  }
  if (feasible.length === 0)
    return { unschedulable: unschedulableMessage(total, reasons), reasons };
  if (feasible.length === 1) return { node: feasible[0]!.name, feasible: 1, evaluated };
  const scores = pipeline.scores.filter((s) => !s.skip?.(pod, snapshot));
  const totals = scratch.totals(feasible.length);
  scoreInto(pod, feasible, scores, snapshot, totals, scratch.raw(feasible.length));
  const best = pickBest(feasible, totals, opts.random ?? Math.random);
  return { node: best.name, feasible: feasible.length, evaluated };
}

/** Whether `node` passes every filter; if not, its first rejection's reasons are counted. */
function fitsAll(
  filters: readonly FilterStage[],
  pod: PodInfo,
  node: NodeInfo,
  snapshot: Snapshot,
  reasons: Map<string, number>,
): boolean {
  for (let f = 0; f < filters.length; f++) {
    const v = filters[f]!.filter(pod, node, snapshot);
    if (v.ok) continue;
    reasons.set(v.reason, (reasons.get(v.reason) ?? 0) + 1);
    for (const r of v.more ?? []) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    return false;
  }
  return true;
}

/** Weighted sum of every stage's normalised score, per feasible node. */
export function scoreNodes(
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  stages: readonly ScoreStage[],
  snapshot: Snapshot,
): Float64Array {
  const totals = new Float64Array(nodes.length);
  scoreInto(pod, nodes, stages, snapshot, totals, new Float64Array(nodes.length));
  return totals;
}

/** `scoreNodes` into zeroed `totals`, with `raw` (as long) to hold each stage's raw scores. */
function scoreInto(
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  stages: readonly ScoreStage[],
  snapshot: Snapshot,
  totals: Float64Array,
  raw: Float64Array,
): void {
  for (const stage of stages) {
    if (stage.scoreAll) stage.scoreAll(pod, nodes, snapshot, raw);
    else for (let i = 0; i < nodes.length; i++) raw[i] = stage.score(pod, nodes[i]!, snapshot);
    addNormalized(totals, raw, stage.normalize, stage.weight);
  }
}

/**
 * Two arrays of scores, kept between attempts. A Float64Array of hundreds of
 * entries lives outside the JS heap, and two allocated per attempt showed up
 * as garbage-collector time. Safe to share: an attempt is synchronous and no
 * stage schedules. Each has exactly the length asked for, as a fresh array
 * would (stages may read `out.length`).
 */
class Scratch {
  private t = new Float64Array(0);
  private r = new Float64Array(0);

  /** Zeroed, of length n. */
  totals(n: number): Float64Array {
    if (this.t.length !== n) this.t = new Float64Array(n);
    else this.t.fill(0);
    return this.t;
  }

  /** Of length n, contents left over (every stage writes every entry). */
  raw(n: number): Float64Array {
    if (this.r.length !== n) this.r = new Float64Array(n);
    return this.r;
  }
}

const scratch = new Scratch();

/**
 * totals += weight × normalize(raw), in one pass after the maximum: the same
 * arithmetic as `normalize` followed by the weighted sum, without writing the
 * normalised scores back (this runs per stage, per feasible node, per attempt).
 */
function addNormalized(
  totals: Float64Array,
  raw: Float64Array,
  how: ScoreStage['normalize'],
  weight: number,
): void {
  const n = raw.length;
  if (how === 'none') {
    for (let i = 0; i < n; i++) totals[i]! += weight * Math.max(0, Math.min(MAX_SCORE, raw[i]!));
    return;
  }
  let max = 0;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    max = Math.max(max, raw[i]!);
    min = Math.min(min, raw[i]!);
  }
  const reverse = how === 'reverse';
  if (min === max || max === 0) {
    // Every node scores the same (often so: alike nodes, no PreferNoSchedule
    // taints): one division instead of one per node, the same number.
    const scaled = max === 0 ? 0 : Math.floor((MAX_SCORE * max) / max);
    const same = weight * (reverse ? MAX_SCORE - scaled : scaled);
    for (let i = 0; i < n; i++) totals[i]! += same;
    return;
  }
  for (let i = 0; i < n; i++) {
    const scaled = Math.floor((MAX_SCORE * raw[i]!) / max);
    totals[i]! += weight * (reverse ? MAX_SCORE - scaled : scaled);
  }
}

/** kube-scheduler's DefaultNormalizeScore, in place; integer results like Go's int64 arithmetic. */
export function normalize(raw: Float64Array, how: ScoreStage['normalize']): void {
  if (how === 'none') {
    for (let i = 0; i < raw.length; i++) raw[i] = Math.max(0, Math.min(MAX_SCORE, raw[i]!));
    return;
  }
  let max = 0;
  for (let i = 0; i < raw.length; i++) max = Math.max(max, raw[i]!);
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
