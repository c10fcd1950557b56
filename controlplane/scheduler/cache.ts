// The scheduler's view of the cluster, kept current by the pod and node
// informers plus the scheduler's own assumptions: a pod it has chosen a node
// for counts on that node from the moment of the decision, before its bind
// reaches etcd, so the next attempt sees the resources as taken. The bind's
// outcome either confirms the assumption (the informer delivers the bound
// pod) or forgets it (the bind failed).
//
// The cache is itself the Snapshot the pipeline reads. That is safe without a
// copy because an attempt runs synchronously: the cache only changes from
// informer callbacks and from the scheduler between attempts.

import { isRecord, type KubeObject } from '../api/objects.js';
import { MutableNodeInfo, type NodeInfo } from './node-info.js';
import { parsePod, podKey, type PodInfo } from './pod-info.js';
import type { Snapshot, VolumeCatalog } from './types.js';
import { ZONE_LABEL, ZoneIndex } from './zone-index.js';
import { OwnerIndex } from './owner-index.js';
import { readyAndUncordoned } from './stages/node-ready.js';
import { hasHardTaint } from './stages/taint-toleration.js';
import { hasPreferNoScheduleTaint } from './stages/taint-prefer-no-schedule.js';

interface Placement {
  node: string;
  assumed: boolean;
}

/** A pod that no longer holds its node's resources: finished, or never bound. */
function holdsResources(pod: KubeObject): boolean {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const status = isRecord(pod.status) ? pod.status : {};
  if (typeof spec.nodeName !== 'string' || spec.nodeName === '') return false;
  return status.phase !== 'Succeeded' && status.phase !== 'Failed';
}

export class SchedulerCache implements Snapshot {
  private readonly infos = new Map<string, MutableNodeInfo>();
  private readonly placements = new Map<string, Placement>();
  private nodeList: NodeInfo[] | undefined;
  private changes = 0;
  private antiAffinityPods = 0;
  private unready = 0;
  private hardTainted = 0;
  private softTainted = 0;
  private readonly zoneIndex = new ZoneIndex();
  private readonly ownerIndex = new OwnerIndex();
  /** Slots of removed NodeInfos, for reuse; `slots` are handed out so far. */
  private readonly freeSlots: number[] = [];
  private slots = 0;
  /** Set by the Scheduler from its claim, volume and class informers. */
  volumes: VolumeCatalog | undefined;

  get version(): number {
    return this.changes;
  }

  get nodes(): readonly NodeInfo[] {
    this.nodeList ??= [...this.infos.values()].filter((n) => n.hasNode);
    return this.nodeList;
  }

  get(name: string): NodeInfo | undefined {
    const info = this.infos.get(name);
    return info?.hasNode ? info : undefined;
  }

  /** Kept as pods and nodes come and go, so default spreading never walks every node. */
  get zones(): ZoneIndex {
    return this.zoneIndex;
  }

  /** Kept as pods come and go for the controllers last asked about, so default spreading reads an array per node. */
  ownerPodsBySlot(owner: string): Int32Array {
    return this.ownerIndex.podsBySlot(owner, this.infos.values(), this.slots);
  }

  /** Kept as pods come and go, so InterPodAffinity can tell in O(1) that no placed pod's rule applies. */
  get podsWithRequiredAntiAffinity(): number {
    return this.antiAffinityPods;
  }

  /**
   * Kept as nodes come and go, so that NodeReady and TaintToleration can tell
   * in O(1) that they would pass every node: in a healthy cluster without
   * taints a plain pod then runs one filter per node instead of three.
   */
  get unreadyOrCordonedNodes(): number {
    return this.unready;
  }
  get nodesWithHardTaints(): number {
    return this.hardTainted;
  }
  /** The same for TaintPreferNoSchedule: without such taints every node scores 0. */
  get nodesWithPreferNoScheduleTaints(): number {
    return this.softTainted;
  }

  /** How many pods are placed (bound or assumed). */
  get podCount(): number {
    return this.placements.size;
  }

  setNode(node: KubeObject): void {
    const name = node.metadata.name ?? '';
    const info = this.info(name);
    const listed = info.hasNode;
    const zone = listed ? info.labels[ZONE_LABEL] : undefined;
    if (!listed) this.nodeList = undefined;
    else this.countNode(info, -1);
    info.setNode(node);
    this.countNode(info, 1);
    // Most updates are status only: the zone index changes only if the node is new or moved zone.
    if (!listed || zone !== info.labels[ZONE_LABEL]) {
      if (listed) this.zoneIndex.removeNode(info, zone);
      this.zoneIndex.addNode(info);
    }
    this.changes++;
  }

  removeNode(name: string): void {
    const info = this.infos.get(name);
    if (!info) return;
    // Its pods stay counted until their own deletes arrive, as in kube-scheduler
    // (but not in the zones: an unlisted node is in none).
    if (info.hasNode) {
      this.zoneIndex.removeNode(info, info.labels[ZONE_LABEL]);
      this.countNode(info, -1);
    }
    info.setNode(undefined);
    if (info.pods.size === 0) this.drop(info);
    this.nodeList = undefined;
    this.changes++;
  }

  /** A pod as the informer reports it: placed if bound and running, else not. */
  setPod(pod: KubeObject): void {
    const key = podKey(pod);
    if (!holdsResources(pod)) {
      // An unbound pod we assumed stays assumed: its bind is still in flight.
      if (this.placements.get(key)?.assumed && !isBound(pod)) return;
      this.removePod(key);
      return;
    }
    this.place(parsePod(pod), false);
  }

  removePod(key: string): void {
    const p = this.placements.get(key);
    if (!p) return;
    this.placements.delete(key);
    const info = this.infos.get(p.node);
    if (info) this.changePods(info, () => info.removePod(key));
    if (info && !info.hasNode && info.pods.size === 0) this.drop(info);
    this.changes++;
  }

  /** Counts pod on nodeName until its bind is confirmed or forgotten. */
  assume(pod: PodInfo, nodeName: string): void {
    this.place({ ...pod, nodeName }, true);
  }

  /** The bind failed: the pod no longer counts — unless the informer has confirmed it meanwhile. */
  forget(key: string): void {
    if (this.placements.get(key)?.assumed) this.removePod(key);
  }

  isAssumed(key: string): boolean {
    return this.placements.get(key)?.assumed ?? false;
  }

  /** The node a pod is placed on (bound or assumed), if any. */
  placement(key: string): string | undefined {
    return this.placements.get(key)?.node;
  }

  private place(pod: PodInfo, assumed: boolean): void {
    const old = this.placements.get(pod.key);
    const from = old && old.node !== pod.nodeName ? this.infos.get(old.node) : undefined;
    if (from) this.changePods(from, () => from.removePod(pod.key));
    const to = this.info(pod.nodeName);
    this.changePods(to, () => to.addPod(pod));
    this.placements.set(pod.key, { node: pod.nodeName, assumed });
    this.changes++;
  }

  /** A listed node starts (1) or stops (−1) counting in the node counts. */
  private countNode(info: NodeInfo, sign: 1 | -1): void {
    if (!readyAndUncordoned(info)) this.unready += sign;
    if (hasHardTaint(info)) this.hardTainted += sign;
    if (hasPreferNoScheduleTaint(info)) this.softTainted += sign;
  }

  /** Every change to a node's pods goes through here, to keep the anti-affinity count exact. */
  private changePods(info: MutableNodeInfo, change: () => void): void {
    const before = info.podsWithRequiredAntiAffinity.size;
    change();
    this.antiAffinityPods += info.podsWithRequiredAntiAffinity.size - before;
  }

  private info(name: string): MutableNodeInfo {
    let info = this.infos.get(name);
    if (!info) {
      const slot = this.freeSlots.pop() ?? this.slots++;
      const created: MutableNodeInfo = new MutableNodeInfo(
        name,
        (owner, delta) => {
          const zone = created.hasNode ? created.labels[ZONE_LABEL] : undefined;
          if (zone !== undefined) this.zoneIndex.ownerDelta(zone, owner, delta);
          this.ownerIndex.delta(owner, slot, delta, this.slots);
        },
        slot,
      );
      info = created;
      this.infos.set(name, info);
    }
    return info;
  }

  /** A NodeInfo with neither a Node nor pods goes; with no pods its slot counts 0 everywhere, so it can be reused. */
  private drop(info: MutableNodeInfo): void {
    this.infos.delete(info.name);
    this.freeSlots.push(info.slot);
  }
}

function isBound(pod: KubeObject): boolean {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  return typeof spec.nodeName === 'string' && spec.nodeName !== '';
}

/** A snapshot of fixed nodes and pods (bound pods are placed), for tests and tools. */
export function buildSnapshot(
  nodes: readonly KubeObject[],
  pods: readonly KubeObject[] = [],
): Snapshot {
  const cache = new SchedulerCache();
  for (const n of nodes) cache.setNode(n);
  for (const p of pods) cache.setPod(p);
  return cache;
}
