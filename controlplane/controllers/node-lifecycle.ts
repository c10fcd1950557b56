// Node lifecycle: notices nodes whose agent stopped heartbeating, taints them,
// and moves their pods away — Kubernetes' node lifecycle controller with its
// taint manager, in one reconcile per node.
//
// reconcile(node), run for every node each monitor period and on changes:
//  1. Health. The agent gateway renews the node's Lease in kube-node-lease
//     (every 10 s while the agent is connected) and rewrites the Ready
//     condition's lastHeartbeatTime only on changes or every 5 minutes. The
//     newer of the two, older than the grace period → every condition becomes
//     Unknown ("Kubelet stopped posting node status."). Staleness is measured on this process's own clock from the
//     moment a heartbeat value was first seen here, as Kubernetes does, so a
//     gateway replica whose clock runs behind does not make its nodes look
//     dead; only the first sighting (a new leader) trusts the timestamp itself.
//  2. Taints follow Ready: Unknown → node.kubernetes.io/unreachable, False →
//     node.kubernetes.io/not-ready, each NoSchedule + NoExecute (timeAdded);
//     Ready again → both removed. NodeNotReady / NodeReady Events on changes.
//  3. Pods on an unreachable node are marked Ready=False so Endpoints drop them.
//  4. Taint-based eviction: a pod on a node with NoExecute taints is deleted
//     once it has been tainted for the least tolerationSeconds of its matching
//     tolerations; without a matching toleration after --pod-eviction-timeout
//     for the unreachable/not-ready taints (the default Kubernetes' admission
//     adds as tolerations) and at once for any other NoExecute taint; a pod
//     that tolerates without tolerationSeconds stays.
//  5. A dead node can never confirm a graceful delete, so a pod it holds would
//     stay Terminating and its ReplicaSet would not replace it. Pods evicted
//     from an unreachable node, and pods on one whose deletion grace period
//     has run out, are deleted with grace period 0. When the node returns its
//     agent gets a desired set without them and stops them. StatefulSet pods
//     are exempt, as in Kubernetes: their identity must never run twice, and a
//     partitioned node may still be running them.
//  6. Pods bound to a node that no longer exists are deleted (Kubernetes' pod
//     GC of orphans), after checking etcd, not just the cache.
// When no node at all is Ready the cause is more likely the control plane's
// own network than every host at once, so evictions for unreachable/not-ready
// wait (Kubernetes' "full disruption" mode); otherwise nodes get the NoExecute
// taint at --node-eviction-rate (0.1 nodes/s, the first at once).

import type { Logger } from 'pino';
import { isRecord, type KubeObject } from '../api/objects.js';
import { ApiError } from '../api/status.js';
import { findResource } from '../api/resources.js';
import type { Registry } from '../api/registry/registry.js';
import type { EventRecorder } from './runtime/events.js';
import type { Informer } from './runtime/informer.js';
import { objectKeyOf } from './runtime/informer.js';
import { runWorkers } from './runtime/run.js';
import { WorkQueue } from './runtime/workqueue.js';
import { TokenBucket } from './runtime/token-bucket.js';
import type { Controller, ControllerDeps } from './types.js';

const NODES = findResource('', 'v1', 'nodes')!;
const PODS = findResource('', 'v1', 'pods')!;
const LEASES = findResource('coordination.k8s.io', 'v1', 'leases')!;
const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const FIELD_MANAGER = 'shoal-node-lifecycle';

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';

export interface NodeLifecycleOptions {
  /** --node-monitor-grace-period: a heartbeat older than this makes the node Unknown. */
  monitorGracePeriodMs?: number;
  /** --pod-eviction-timeout: how long a pod that does not tolerate unreachable/not-ready stays. */
  podEvictionTimeoutMs?: number;
  /**
   * --node-eviction-rate: nodes per second that may get the unreachable or
   * not-ready NoExecute taint, which starts their pods' eviction clocks
   * (kube-controller-manager's default, 0.1: one node every 10 s, the first
   * at once). Infinity: no limit.
   */
  nodeEvictionRate?: number;
  /** How often every node is looked at. */
  monitorPeriodMs?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  workers?: number;
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** What this replica remembers of a node between reconciles. */
interface NodeHealth {
  heartbeat: string | undefined;
  /** When (this process's clock) the heartbeat above was first seen. */
  observedAt: number;
  /** Ready's status at the last reconcile, for NodeReady/NodeNotReady Events. */
  ready: string | undefined;
}

export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle';
  private readonly registry: Registry;
  private readonly events: EventRecorder;
  private readonly log: Logger | undefined;
  private readonly nodes: Informer;
  private readonly pods: Informer;
  private readonly leases: Informer;
  private readonly queue = new WorkQueue('node-lifecycle');
  private readonly grace: number;
  private readonly evictionTimeout: number;
  private readonly period: number;
  private readonly now: () => number;
  private readonly workers: number;
  private readonly health = new Map<string, NodeHealth>();
  /** Taints without timeAdded (set by users): when this process first saw each. */
  private readonly taintSeen = new Map<string, number>();
  /** Pod keys by spec.nodeName: the pods of one node without scanning all. */
  private readonly podsByNode = new Map<string, Set<string>>();
  private fullDisruption = false;
  private readonly evictionLimiter: TokenBucket | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(deps: ControllerDeps, opts: NodeLifecycleOptions = {}) {
    this.registry = deps.registry;
    this.events = deps.events;
    this.log = deps.logger?.child({ controller: this.name });
    this.grace = opts.monitorGracePeriodMs ?? 20_000;
    this.evictionTimeout = opts.podEvictionTimeoutMs ?? 30_000;
    this.period = opts.monitorPeriodMs ?? 2_000;
    this.now = opts.now ?? Date.now;
    this.workers = opts.workers ?? 4;
    const rate = opts.nodeEvictionRate ?? 0.1;
    this.evictionLimiter = Number.isFinite(rate) ? new TokenBucket(rate, 1) : undefined;
    this.nodes = deps.informers.forResource(NODES);
    this.pods = deps.informers.forResource(PODS);
    // Renewals are not events to act on: the monitor period looks at every node anyway.
    this.leases = deps.informers.forResource(LEASES);
    this.nodes.on({
      add: (n) => this.queue.add(n.metadata.name ?? ''),
      update: (_o, n) => this.queue.add(n.metadata.name ?? ''),
      delete: (n) => this.queue.add(n.metadata.name ?? ''),
    });
    this.pods.on({
      add: (p) => this.podChanged(undefined, p),
      update: (o, p) => this.podChanged(o, p),
      delete: (p) => this.podChanged(p, undefined),
    });
  }

  async start(): Promise<void> {
    this.running = runWorkers(this.queue, this, {
      workers: this.workers,
      ...(this.log ? { logger: this.log } : {}),
    });
    this.tick();
    this.ticker = setInterval(() => this.tick(), this.period);
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.queue.shutdown();
    await this.running;
  }

  /** Every node, and every node name pods still point at, once per monitor period. */
  private tick(): void {
    for (const n of this.nodes.list()) this.queue.add(n.metadata.name ?? '');
    for (const [name, keys] of this.podsByNode) {
      if (keys.size > 0 && !this.nodes.get(name)) this.queue.add(name);
    }
  }

  private podChanged(old: KubeObject | undefined, pod: KubeObject | undefined): void {
    const oldNode = old ? nodeNameOf(old) : undefined;
    const newNode = pod ? nodeNameOf(pod) : undefined;
    if (old && oldNode) this.podsByNode.get(oldNode)?.delete(objectKeyOf(old));
    if (pod && newNode) {
      let set = this.podsByNode.get(newNode);
      if (!set) this.podsByNode.set(newNode, (set = new Set()));
      set.add(objectKeyOf(pod));
    }
    if (oldNode && this.podsByNode.get(oldNode)?.size === 0) this.podsByNode.delete(oldNode);
    // Only a node in trouble has anything to do about its pods.
    if (newNode && this.needsPodWork(newNode)) this.queue.add(newNode);
  }

  private needsPodWork(nodeName: string): boolean {
    const node = this.nodes.get(nodeName);
    if (!node) return true;
    return readyStatus(node) !== 'True' || taintsOf(node).some((t) => t.effect === 'NoExecute');
  }

  /** Converges one node: health, taints, pod readiness, evictions. Idempotent. */
  async reconcile(name: string): Promise<void> {
    const cached = this.nodes.get(name);
    if (!cached) {
      this.health.delete(name);
      for (const k of [...this.taintSeen.keys()])
        if (k.startsWith(`${name}\0`)) this.taintSeen.delete(k);
      await this.collectOrphans(name);
      return;
    }
    const now = this.now();
    let node = await this.checkHealth(cached, now);
    this.recordReadyChange(node);
    node = await this.syncTaints(node, now);
    if (readyStatus(node) === 'True' && !taintsOf(node).some((t) => t.effect === 'NoExecute'))
      return;

    this.updateDisruptionMode(node);
    const unreachable = readyStatus(node) === 'Unknown';
    let retry = false;
    let next = Infinity;
    for (const pod of this.podsOf(name)) {
      try {
        if (unreachable) await this.markNotReady(pod, now);
        const due = await this.evictIfDue(node, pod, now, unreachable);
        next = Math.min(next, due);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        // Gone meanwhile: nothing left to do for it.
        if (err.reason === 'NotFound') continue;
        if (err.reason !== 'Conflict') throw err;
        // Changed under us: look again soon with the new version.
        retry = true;
      }
    }
    if (retry) this.queue.addRateLimited(name);
    // The ticker looks again within a period anyway; a timer only sharpens a nearer deadline.
    else if (next - now < this.period) this.queue.addAfter(name, Math.max(0, next - now));
  }

  /** Sets every condition Unknown when the heartbeat is older than the grace period. */
  private async checkHealth(node: KubeObject, now: number): Promise<KubeObject> {
    const name = node.metadata.name!;
    const conditions = conditionsOf(node);
    const ready = conditions.find((c) => c.type === 'Ready');
    const readyHeartbeat =
      typeof ready?.lastHeartbeatTime === 'string' ? ready.lastHeartbeatTime : undefined;
    const lease = this.leases.get(`${NODE_LEASE_NAMESPACE}/${name}`);
    const leaseSpec = lease && isRecord(lease.spec) ? lease.spec : {};
    const renewed = typeof leaseSpec.renewTime === 'string' ? leaseSpec.renewTime : undefined;
    // Either one moving is a sign of life; the lease is what moves while all is well.
    const heartbeat =
      renewed === undefined && readyHeartbeat === undefined
        ? undefined
        : `${renewed ?? ''}|${readyHeartbeat ?? ''}`;
    let h = this.health.get(name);
    if (!h) {
      // First sighting: trust the newest recorded time (never from the future), else the node's age.
      const times = [parseTime(renewed), parseTime(readyHeartbeat)].filter(
        (t): t is number => t !== undefined,
      );
      const recorded =
        (times.length > 0 ? Math.max(...times) : undefined) ??
        parseTime(node.metadata.creationTimestamp) ??
        now;
      h = { heartbeat, observedAt: Math.min(recorded, now), ready: readyStatus(node) };
      this.health.set(name, h);
    } else if (h.heartbeat !== heartbeat) {
      h.heartbeat = heartbeat;
      h.observedAt = now;
    }
    if (now - h.observedAt <= this.grace) return node;
    const at = timestamp(now);
    let changed = false;
    const next = conditions.map((c) => {
      if (c.status === 'Unknown') return c;
      changed = true;
      return {
        ...c,
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastTransitionTime: at,
      };
    });
    if (!ready) {
      changed = true;
      next.push({
        type: 'Ready',
        status: 'Unknown',
        reason: 'NodeStatusNeverUpdated',
        message: 'Kubelet never posted node status.',
        lastHeartbeatTime: node.metadata.creationTimestamp ?? at,
        lastTransitionTime: at,
      });
    }
    if (!changed) return node;
    this.log?.info(
      { node: name, lease: renewed, heartbeat: readyHeartbeat },
      'node stopped posting status',
    );
    // The resourceVersion makes this lose against a heartbeat that landed meanwhile.
    const { object } = await this.registry.patch(
      NODES,
      undefined,
      name,
      'merge',
      {
        metadata: { resourceVersion: node.metadata.resourceVersion },
        status: { conditions: next },
      },
      { subresource: 'status', fieldManager: FIELD_MANAGER },
    );
    return object;
  }

  private recordReadyChange(node: KubeObject): void {
    const h = this.health.get(node.metadata.name!);
    if (!h) return;
    const status = readyStatus(node);
    const before = h.ready;
    h.ready = status;
    if (before === status) return;
    const name = node.metadata.name!;
    if (status === 'True') {
      this.events.event(node, 'Normal', 'NodeReady', `Node ${name} status is now: NodeReady`);
    } else if (before === 'True') {
      this.events.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
    }
  }

  /** Makes the unreachable/not-ready taints match the Ready condition. */
  private async syncTaints(node: KubeObject, now: number): Promise<KubeObject> {
    const status = readyStatus(node);
    const want =
      status === 'Unknown' ? TAINT_UNREACHABLE : status === 'False' ? TAINT_NOT_READY : undefined;
    const current = taintsOf(node);
    const kept = current.filter(
      (t) => !((t.key === TAINT_UNREACHABLE || t.key === TAINT_NOT_READY) && t.key !== want),
    );
    if (want) {
      if (!kept.some((t) => t.key === want && t.effect === 'NoSchedule'))
        kept.push({ key: want, effect: 'NoSchedule' });
      if (!kept.some((t) => t.key === want && t.effect === 'NoExecute')) {
        // Rate-limited as Kubernetes does: when many nodes go silent at once
        // the cause is more often the control plane falling behind (heavy
        // load, its own network) than that many hosts dying, and evicting
        // them all would move every pod at once. Swapping not-ready for
        // unreachable on a node already tainted is not a new eviction.
        const swap = current.some(
          (t) =>
            (t.key === TAINT_UNREACHABLE || t.key === TAINT_NOT_READY) && t.effect === 'NoExecute',
        );
        const wait = swap ? 0 : (this.evictionLimiter?.take(now) ?? 0);
        if (wait === 0) kept.push({ key: want, effect: 'NoExecute', timeAdded: timestamp(now) });
        else this.queue.addAfter(node.metadata.name!, wait);
      }
    }
    if (JSON.stringify(kept) === JSON.stringify(current)) return node;
    this.log?.info(
      { node: node.metadata.name, taints: kept.map(taintString) },
      'node taints changed',
    );
    const { object } = await this.registry.patch(
      NODES,
      undefined,
      node.metadata.name!,
      'merge',
      {
        metadata: { resourceVersion: node.metadata.resourceVersion },
        spec: { taints: kept.length > 0 ? kept : null },
      },
      { fieldManager: FIELD_MANAGER },
    );
    return object;
  }

  /** `current` is fresher than its cache entry: it may be what this reconcile just wrote. */
  private updateDisruptionMode(current: KubeObject): void {
    const nodes = this.nodes
      .list()
      .map((n) => (n.metadata.name === current.metadata.name ? current : n));
    const full = nodes.length > 0 && !nodes.some((n) => readyStatus(n) === 'True');
    if (full !== this.fullDisruption) {
      this.log?.warn(
        { nodes: nodes.length },
        full
          ? 'no node is Ready: pausing evictions for unreachable and not-ready nodes'
          : 'a node is Ready again: evictions resume',
      );
    }
    this.fullDisruption = full;
  }

  private podsOf(nodeName: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const key of this.podsByNode.get(nodeName) ?? []) {
      const p = this.pods.get(key);
      if (p && nodeNameOf(p) === nodeName) out.push(p);
    }
    return out;
  }

  /** Ready=False on a pod whose node cannot report on it, so Endpoints stop sending it traffic. */
  private async markNotReady(pod: KubeObject, now: number): Promise<void> {
    const status = isRecord(pod.status) ? pod.status : {};
    if (status.phase === 'Succeeded' || status.phase === 'Failed') return;
    const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
    const ready = conditions.find((c) => c.type === 'Ready');
    if (ready?.status === 'False') return;
    const next = conditions.filter((c) => c.type !== 'Ready');
    next.push({
      ...(ready ?? { type: 'Ready' }),
      status: 'False',
      lastTransitionTime: timestamp(now),
    });
    await this.registry.patch(
      PODS,
      pod.metadata.namespace,
      pod.metadata.name!,
      'merge',
      { metadata: { resourceVersion: pod.metadata.resourceVersion }, status: { conditions: next } },
      { subresource: 'status', fieldManager: FIELD_MANAGER },
    );
  }

  /**
   * Deletes the pod if its NoExecute taints have outlasted its tolerations;
   * returns when to look again (Infinity: never). Terminating pods on an
   * unreachable node are force-deleted once their grace period is over.
   */
  private async evictIfDue(
    node: KubeObject,
    pod: KubeObject,
    now: number,
    unreachable: boolean,
  ): Promise<number> {
    const ref = `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
    const uid = pod.metadata.uid;
    const forceable = unreachable && !ownedByStatefulSet(pod);
    if (pod.metadata.deletionTimestamp) {
      if (!forceable) return Infinity;
      const until = parseTime(pod.metadata.deletionTimestamp) ?? now;
      if (until > now) return until;
      await this.forceDelete(pod, 'its node is unreachable and its grace period is over');
      return Infinity;
    }
    const taints = taintsOf(node)
      .filter((t) => t.effect === 'NoExecute')
      .map((t) => ({ taint: t, since: this.taintTime(node.metadata.name!, t, now) }));
    const paused = this.fullDisruption;
    const due = evictionTime(
      tolerationsOf(pod),
      taints.filter(({ taint }) => !(paused && isNodeHealthTaint(taint))),
      this.evictionTimeout,
    );
    if (due > now) return due;
    this.log?.info({ pod: ref, node: node.metadata.name }, 'evicting pod from tainted node');
    this.events.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${ref}`);
    const { deleted } = await this.registry.delete(
      PODS,
      pod.metadata.namespace,
      pod.metadata.name!,
      {
        ...(uid ? { preconditions: { uid } } : {}),
      },
    );
    if (!deleted && forceable) {
      // Its eviction timeout was its grace period; the node cannot honour another.
      await this.forceDelete(pod, 'evicted from an unreachable node');
    }
    return Infinity;
  }

  private async forceDelete(pod: KubeObject, why: string): Promise<void> {
    const uid = pod.metadata.uid;
    this.log?.info(
      { pod: `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`, why },
      'force-deleting pod',
    );
    await this.registry.delete(PODS, pod.metadata.namespace, pod.metadata.name!, {
      gracePeriodSeconds: 0,
      ...(uid ? { preconditions: { uid } } : {}),
    });
  }

  private taintTime(nodeName: string, t: Taint, now: number): number {
    const added = parseTime(t.timeAdded);
    if (added !== undefined) return added;
    const id = `${nodeName}\0${t.key}\0${t.effect}`;
    const seen = this.taintSeen.get(id);
    if (seen !== undefined) return seen;
    this.taintSeen.set(id, now);
    return now;
  }

  /** Pods whose node is gone; the cache may lag behind a new node, so etcd decides. */
  private async collectOrphans(nodeName: string): Promise<void> {
    const pods = this.podsOf(nodeName);
    if (pods.length === 0) return;
    try {
      await this.registry.get(NODES, undefined, nodeName);
      return;
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
    }
    for (const pod of pods) {
      try {
        await this.forceDelete(pod, `its node ${nodeName} no longer exists`);
      } catch (err) {
        if (!(err instanceof ApiError && (err.reason === 'NotFound' || err.reason === 'Conflict')))
          throw err;
      }
    }
  }
}

// ---- pure rules (exported for tests and for whoever needs the same answer) ----

/**
 * When a pod must leave a node with these NoExecute taints (epoch ms;
 * Infinity: never). Per taint: untolerated → at once, or after
 * `healthTimeoutMs` for unreachable/not-ready; tolerated → after the least
 * tolerationSeconds among matching tolerations, never if none sets one.
 */
export function evictionTime(
  tolerations: Toleration[],
  taints: { taint: Taint; since: number }[],
  healthTimeoutMs: number,
): number {
  let due = Infinity;
  for (const { taint, since } of taints) {
    const matching = tolerations.filter((tol) => tolerates(tol, taint));
    if (matching.length === 0) {
      due = Math.min(due, since + (isNodeHealthTaint(taint) ? healthTimeoutMs : 0));
      continue;
    }
    const seconds = matching
      .map((tol) => tol.tolerationSeconds)
      .filter((s): s is number => typeof s === 'number');
    if (seconds.length > 0) due = Math.min(due, since + Math.max(0, Math.min(...seconds)) * 1000);
  }
  return due;
}

/** Kubernetes' Toleration.ToleratesTaint. */
export function tolerates(tol: Toleration, taint: Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (tol.key && tol.key !== taint.key) return false;
  const op = tol.operator || 'Equal';
  if (op === 'Exists') return true;
  if (op === 'Equal') return (tol.value ?? '') === (taint.value ?? '');
  return false;
}

function isNodeHealthTaint(t: Taint): boolean {
  return t.key === TAINT_UNREACHABLE || t.key === TAINT_NOT_READY;
}

function taintString(t: Taint): string {
  return `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
}

function conditionsOf(node: KubeObject): Record<string, unknown>[] {
  const status = isRecord(node.status) ? node.status : {};
  return Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
}

function readyStatus(node: KubeObject): string | undefined {
  const s = conditionsOf(node).find((c) => c.type === 'Ready')?.status;
  return typeof s === 'string' ? s : undefined;
}

function taintsOf(node: KubeObject): Taint[] {
  const spec = isRecord(node.spec) ? node.spec : {};
  if (!Array.isArray(spec.taints)) return [];
  return spec.taints.filter(
    (t): t is Taint => isRecord(t) && typeof t.key === 'string' && typeof t.effect === 'string',
  );
}

function tolerationsOf(pod: KubeObject): Toleration[] {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const list: unknown[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return list.filter(isRecord).map((t) => {
    const tol: Toleration = {};
    for (const f of ['key', 'operator', 'value', 'effect'] as const) {
      const v = str(t[f]);
      if (v !== undefined) tol[f] = v;
    }
    if (typeof t.tolerationSeconds === 'number') tol.tolerationSeconds = t.tolerationSeconds;
    return tol;
  });
}

function nodeNameOf(pod: KubeObject): string | undefined {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  return typeof spec.nodeName === 'string' && spec.nodeName ? spec.nodeName : undefined;
}

function ownedByStatefulSet(pod: KubeObject): boolean {
  return (pod.metadata.ownerReferences ?? []).some((o) => o.controller && o.kind === 'StatefulSet');
}

function parseTime(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
