// A node as the scheduler reads it — labels, taints, readiness, allocatable —
// and what is already placed on it: the pods (bound or assumed), their
// summed requests, and counts the scoring stages look up per node. The
// scheduler's cache keeps one NodeInfo per node and updates it as pods come
// and go, so no attempt ever has to add up a node's pods again.

import { isRecord, type KubeObject } from '../api/objects.js';
import { add, resourceList, subtract, ZERO, type Resources } from './resources.js';
import type { PodInfo } from './pod-info.js';

export interface Taint {
  key: string;
  value: string;
  effect: string;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** A node and its placed pods, read-only: what every stage receives. */
export interface NodeInfo {
  readonly name: string;
  readonly node: KubeObject;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  readonly unschedulable: boolean;
  /** The Ready condition's status; Unknown when the node reports none. */
  readonly ready: ConditionStatus;
  readonly allocatable: Readonly<Resources>;
  /** Sum of placed pods' requests; `pods` is how many are placed. */
  readonly requested: Readonly<Resources>;
  /** The same with kube-scheduler's non-zero defaults, for scoring. */
  readonly nonZeroRequested: Readonly<Resources>;
  /** Placed pods by key. */
  readonly pods: ReadonlyMap<string, PodInfo>;
  /**
   * This node's index in the cache's per-controller arrays (owner-index.ts);
   * unique among the cache's nodes, reused once a node is gone.
   */
  readonly slot: number;
  /** How many placed pods each controller (by owner uid) has here. */
  readonly ownerCounts: ReadonlyMap<string, number>;
  /** Placed pods that carry required pod anti-affinity (checked against every newcomer). */
  readonly podsWithRequiredAntiAffinity: ReadonlySet<PodInfo>;
}

interface ParsedNode {
  labels: Record<string, string>;
  taints: Taint[];
  unschedulable: boolean;
  ready: ConditionStatus;
  allocatable: Resources;
}

function parseNode(node: KubeObject): ParsedNode {
  const spec = isRecord(node.spec) ? node.spec : {};
  const status = isRecord(node.status) ? node.status : {};
  const taints = (Array.isArray(spec.taints) ? spec.taints : []).filter(isRecord).map((t) => ({
    key: typeof t.key === 'string' ? t.key : '',
    value: typeof t.value === 'string' ? t.value : '',
    effect: typeof t.effect === 'string' ? t.effect : '',
  }));
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
  const readyStatus = conditions.find((c) => c.type === 'Ready')?.status;
  return {
    labels: { ...(node.metadata.labels ?? {}) },
    taints,
    unschedulable: spec.unschedulable === true,
    ready: readyStatus === 'True' || readyStatus === 'False' ? readyStatus : 'Unknown',
    allocatable: resourceList(status.allocatable),
  };
}

/**
 * The cache's mutable NodeInfo. It may exist before its Node object (a pod
 * bound to a node not yet seen): `node` is then undefined and snapshots
 * leave it out.
 */
export class MutableNodeInfo implements NodeInfo {
  private object: KubeObject | undefined;
  // The parsed node's fields live on this object itself, not on a parsed
  // record behind getters: filters and scores read them for hundreds of
  // nodes on every attempt, and each extra object is one more memory load
  // per node. Only setNode writes them.
  private labelsValue: Readonly<Record<string, string>> = {};
  private taintsValue: readonly Taint[] = [];
  private unschedulableValue = false;
  private readyValue: ConditionStatus = 'Unknown';
  private allocatableValue: Readonly<Resources> = { ...ZERO };
  readonly requested: Resources = { ...ZERO };
  readonly nonZeroRequested: Resources = { ...ZERO };
  readonly pods = new Map<string, PodInfo>();
  readonly ownerCounts = new Map<string, number>();
  readonly podsWithRequiredAntiAffinity = new Set<PodInfo>();

  /** `onOwnerCount` hears every change to ownerCounts (the cache's zone index follows them). */
  constructor(
    readonly name: string,
    private readonly onOwnerCount?: (owner: string, delta: number) => void,
    readonly slot = 0,
  ) {}

  get node(): KubeObject {
    if (!this.object) throw new Error(`node ${this.name} has no Node object`);
    return this.object;
  }
  get hasNode(): boolean {
    return this.object !== undefined;
  }
  get labels(): Readonly<Record<string, string>> {
    return this.labelsValue;
  }
  get taints(): readonly Taint[] {
    return this.taintsValue;
  }
  get unschedulable(): boolean {
    return this.unschedulableValue;
  }
  get ready(): ConditionStatus {
    return this.readyValue;
  }
  get allocatable(): Readonly<Resources> {
    return this.allocatableValue;
  }

  /** Unlisting (undefined) leaves the fields as they were; nothing reads them while hasNode is false. */
  setNode(node: KubeObject | undefined): void {
    this.object = node;
    if (!node) return;
    const parsed = parseNode(node);
    this.labelsValue = parsed.labels;
    this.taintsValue = parsed.taints;
    this.unschedulableValue = parsed.unschedulable;
    this.readyValue = parsed.ready;
    this.allocatableValue = parsed.allocatable;
  }

  /** Places a pod here; a pod already here under the same key is replaced. */
  addPod(pod: PodInfo): void {
    this.removePod(pod.key);
    this.pods.set(pod.key, pod);
    add(this.requested, pod.requests);
    add(this.nonZeroRequested, pod.nonZeroRequests);
    if (pod.controllerUid) {
      this.ownerCounts.set(pod.controllerUid, (this.ownerCounts.get(pod.controllerUid) ?? 0) + 1);
      this.onOwnerCount?.(pod.controllerUid, 1);
    }
    if (pod.requiredAntiAffinity.length > 0) this.podsWithRequiredAntiAffinity.add(pod);
  }

  removePod(key: string): PodInfo | undefined {
    const pod = this.pods.get(key);
    if (!pod) return undefined;
    this.pods.delete(key);
    subtract(this.requested, pod.requests);
    subtract(this.nonZeroRequested, pod.nonZeroRequests);
    if (pod.controllerUid) {
      const n = (this.ownerCounts.get(pod.controllerUid) ?? 1) - 1;
      if (n > 0) this.ownerCounts.set(pod.controllerUid, n);
      else this.ownerCounts.delete(pod.controllerUid);
      this.onOwnerCount?.(pod.controllerUid, -1);
    }
    this.podsWithRequiredAntiAffinity.delete(pod);
    return pod;
  }
}
