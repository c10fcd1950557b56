// The scheduler as a controller: informers feed the cache (nodes, bound
// pods) and the queue (pods waiting for a node); one loop pops the most
// important pod, runs the pipeline against the cache, and on success assumes
// the pod on the chosen node and starts its bind without waiting for it, so
// the next decision already sees the resources taken while several binds are
// in flight. A failed bind forgets the assumption and retries; a pod that
// fits nowhere gets PodScheduled=False with kube-scheduler's message, a
// FailedScheduling event, and a backoff that node and pod changes cut short.
// The scheduler only decides and binds: etcd's compare on the pod's revision
// (Registry.bind) is what makes a double binding impossible.

import type { Logger } from 'pino';
import { isRecord, type KubeObject } from '../api/objects.js';
import { ApiError } from '../api/status.js';
import { findResource } from '../api/resources.js';
import type { Registry } from '../api/registry/registry.js';
import type { Controller, ControllerDeps } from '../controllers/types.js';
import type { EventRecorder } from '../controllers/runtime/events.js';
import { SchedulerCache } from './cache.js';
import { parsePod, podKey } from './pod-info.js';
import { defaultPipeline, schedule, type Pipeline, type Scoring } from './pipeline.js';
import { SchedulingQueue, type QueuedPod } from './queue.js';
import type { SchedulerMetrics } from './metrics.js';
import { AFFINITY_REASON } from './stages/inter-pod-affinity.js';
import { preBindVolumes } from './prebind-volumes.js';
import type { VolumeCatalog } from './types.js';

const PODS = findResource('', 'v1', 'pods')!;
const NODES = findResource('', 'v1', 'nodes')!;
const PVCS = findResource('', 'v1', 'persistentvolumeclaims')!;
const PVS = findResource('', 'v1', 'persistentvolumes')!;
const STORAGE_CLASSES = findResource('storage.k8s.io', 'v1', 'storageclasses')!;
const FIELD_MANAGER = 'shoal-scheduler';
const DEFAULT_SCHEDULER_NAMES = ['default-scheduler', 'shoal'];
/** How long the loop decides before it yields to I/O. */
const YIELD_EVERY_MS = 5;

export interface SchedulerOptions {
  /** spec.schedulerName values this scheduler serves (an empty name always is). */
  schedulerNames?: string[];
  scoring?: Scoring;
  metrics?: SchedulerMetrics;
  /** Binds in flight at once; decisions go on while they are. */
  maxInFlightBinds?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Tie-breaking between equally good nodes; Math.random unless a test fixes it. */
  random?: () => number;
  /** See ScheduleOptions.percentageOfNodesToScore; unset: kube-scheduler's adaptive default. */
  percentageOfNodesToScore?: number;
}

type Rec = Record<string, unknown>;

const rec = (v: unknown): Rec => (isRecord(v) ? v : {});

function nodeNameOf(pod: KubeObject): string {
  const n = rec(pod.spec).nodeName;
  return typeof n === 'string' ? n : '';
}

function isTerminal(pod: KubeObject): boolean {
  const phase = rec(pod.status).phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** What the scheduler's decision depends on changed (not just status or resourceVersion). */
function podSpecChanged(a: KubeObject, b: KubeObject): boolean {
  return (
    JSON.stringify(a.spec) !== JSON.stringify(b.spec) ||
    JSON.stringify(a.metadata.labels ?? {}) !== JSON.stringify(b.metadata.labels ?? {})
  );
}

/** Node changes that can make room; heartbeats (lastHeartbeatTime) are not among them. */
function nodeChangedForScheduling(a: KubeObject, b: KubeObject): boolean {
  const ready = (n: KubeObject): unknown =>
    (Array.isArray(rec(n.status).conditions) ? (rec(n.status).conditions as unknown[]) : [])
      .filter(isRecord)
      .find((c) => c.type === 'Ready')?.status;
  return (
    JSON.stringify(a.spec) !== JSON.stringify(b.spec) ||
    JSON.stringify(a.metadata.labels ?? {}) !== JSON.stringify(b.metadata.labels ?? {}) ||
    JSON.stringify(rec(a.status).allocatable) !== JSON.stringify(rec(b.status).allocatable) ||
    ready(a) !== ready(b)
  );
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class Scheduler implements Controller {
  readonly name = 'scheduler';
  /** Exposed for tests and diagnostics: the cluster as the scheduler sees it. */
  readonly cache = new SchedulerCache();
  private readonly queue: SchedulingQueue;
  private readonly registry: Registry;
  private readonly events: EventRecorder;
  private readonly log: Logger | undefined;
  private readonly pipeline: Pipeline;
  private readonly names: Set<string>;
  private readonly metrics: SchedulerMetrics;
  private readonly maxInFlight: number;
  private readonly random: () => number;
  private readonly percentageOfNodesToScore: number;
  private readonly volumes: VolumeCatalog;
  /** Where the next attempt's search starts (kube-scheduler's nextStartNodeIndex). */
  private nextStartIndex = 0;
  private inFlight = 0;
  private slotWaiters: (() => void)[] = [];
  private readonly tasks = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  private stopped = false;

  constructor(deps: ControllerDeps, opts: SchedulerOptions = {}) {
    this.registry = deps.registry;
    this.events = deps.events;
    this.log = deps.logger?.child({ component: 'scheduler' });
    this.pipeline = defaultPipeline({ scoring: opts.scoring ?? 'LeastAllocated' });
    this.names = new Set(['', ...(opts.schedulerNames ?? DEFAULT_SCHEDULER_NAMES)]);
    this.metrics = opts.metrics ?? {};
    // Binds in flight cap throughput at slots ÷ bind latency; a loaded etcd (or a
    // write batch) makes a bind take hundreds of ms, and 64 slots then capped
    // binding near 200 pods/s. Binds in flight are cheap: the store combines them.
    this.maxInFlight = opts.maxInFlightBinds ?? 512;
    this.random = opts.random ?? Math.random;
    this.percentageOfNodesToScore = opts.percentageOfNodesToScore ?? 0;
    this.queue = new SchedulingQueue({
      ...(opts.initialBackoffMs !== undefined ? { initialBackoffMs: opts.initialBackoffMs } : {}),
      ...(opts.maxBackoffMs !== undefined ? { maxBackoffMs: opts.maxBackoffMs } : {}),
    });
    // PriorityClass is not served: spec.priority, as the admission plugin would have set it, is read as is.
    deps.informers.forResource(NODES).on({
      add: (n) => {
        this.cache.setNode(n);
        this.queue.moveAllToActive();
      },
      update: (old, n) => {
        this.cache.setNode(n);
        if (nodeChangedForScheduling(old, n)) this.queue.moveAllToActive();
      },
      delete: (n) => this.cache.removeNode(n.metadata.name ?? ''),
    });
    this.volumes = this.watchVolumes(deps);
    const pods = deps.informers.forResource(PODS);
    // A bind writes the pod whole: with its managedFields at hand it needs no read first.
    pods.keepManagedFieldsOf((p) => nodeNameOf(p) === '');
    pods.on({
      add: (p) => this.onPod(undefined, p),
      update: (old, p) => this.onPod(old, p),
      delete: (p) => this.onPodDeleted(p),
    });
  }

  /** Claims, volumes and classes for VolumeBinding; a change may make a waiting pod fit. */
  private watchVolumes(deps: ControllerDeps): VolumeCatalog {
    const claims = deps.informers.forResource(PVCS);
    const volumes = deps.informers.forResource(PVS);
    const classes = deps.informers.forResource(STORAGE_CLASSES);
    const wake = (): void => this.queue.moveAllToActive();
    for (const inf of [claims, volumes, classes]) inf.on({ add: wake, update: wake });
    const catalog: VolumeCatalog = {
      claim: (ns, name) => claims.get(`${ns}/${name}`),
      volume: (name) => volumes.get(name),
      storageClass: (name) => classes.get(name),
      volumes: () => volumes.list(),
    };
    this.cache.volumes = catalog;
    return catalog;
  }

  /** Pods waiting for a node (queued, backing off, or being decided). */
  get pending(): number {
    return this.queue.pending;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.loop = this.run();
    // Popped pods are in flight (deciding or binding), in neither queue.
    this.metrics.queueSizes?.(() => {
      const active = this.queue.activeCount;
      return { active, backoff: Math.max(0, this.queue.pending - active - this.inFlight) };
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.metrics.queueSizes?.(undefined);
    this.queue.close();
    for (const w of this.slotWaiters) w();
    this.slotWaiters = [];
    await this.loop;
    await Promise.allSettled([...this.tasks]);
  }

  /** Is this pod ours to place? */
  private responsible(pod: KubeObject): boolean {
    const spec = rec(pod.spec);
    const name = typeof spec.schedulerName === 'string' ? spec.schedulerName : '';
    return (
      nodeNameOf(pod) === '' &&
      this.names.has(name) &&
      pod.metadata.deletionTimestamp === undefined &&
      !isTerminal(pod)
    );
  }

  private onPod(old: KubeObject | undefined, pod: KubeObject): void {
    const key = podKey(pod);
    if (nodeNameOf(pod) !== '') {
      const freed =
        old !== undefined && nodeNameOf(old) !== '' && !isTerminal(old) && isTerminal(pod);
      this.cache.setPod(pod);
      this.queue.delete(key);
      // A finished pod gives its resources back; a new bound pod may be what an affinity waits for.
      if (freed) this.queue.moveAllToActive();
      else if (!old || nodeNameOf(old) === '')
        this.queue.moveAllToActive({ onlyWaitingForPods: true });
    } else if (this.responsible(pod)) {
      this.queue.add(pod, old === undefined || podSpecChanged(old, pod));
    } else {
      this.queue.delete(key);
    }
    this.metrics.pending?.(this.queue.pending);
  }

  private onPodDeleted(pod: KubeObject): void {
    const key = podKey(pod);
    const wasPlaced = this.cache.placement(key) !== undefined;
    this.cache.removePod(key);
    this.queue.delete(key);
    if (wasPlaced) this.queue.moveAllToActive();
    this.metrics.pending?.(this.queue.pending);
  }

  private async run(): Promise<void> {
    let turnStarted = performance.now();
    for (;;) {
      await this.acquireSlot();
      if (this.stopped) return;
      const item = await this.queue.pop();
      if (!item || this.stopped) {
        this.releaseSlot();
        return;
      }
      try {
        this.scheduleOne(item);
      } catch (err) {
        this.releaseSlot();
        this.log?.error({ err, pod: item.key }, 'scheduling attempt failed');
        this.queue.backoff(item.key);
      }
      // Let informer events and bind completions in between decisions, but
      // not after each one: a decision takes well under a millisecond, and one
      // per event-loop turn capped throughput at the turns a busy process makes.
      if (performance.now() - turnStarted >= YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        turnStarted = performance.now();
      }
    }
  }

  /** Decides for one pod; holds a bind slot, which the bind (or this, on no bind) releases. */
  private scheduleOne(item: QueuedPod): void {
    const started = performance.now();
    const pod = item.pod;
    if (!this.responsible(pod) || this.cache.placement(item.key) !== undefined) {
      this.queue.delete(item.key);
      this.releaseSlot();
      return;
    }
    const info = parsePod(pod);
    const result = schedule(info, this.cache, {
      pipeline: this.pipeline,
      random: this.random,
      percentageOfNodesToScore: this.percentageOfNodesToScore,
      startIndex: this.nextStartIndex,
    });
    if ('node' in result) {
      this.nextStartIndex = (this.nextStartIndex + result.evaluated) % this.cache.nodes.length;
      this.cache.assume(info, result.node);
      this.track(this.bind(pod, result.node, started));
      return;
    }
    this.releaseSlot();
    this.queue.backoff(item.key, { waitsForPods: result.reasons.has(AFFINITY_REASON) });
    this.metrics.attempt?.('unschedulable', (performance.now() - started) / 1000);
    this.metrics.pending?.(this.queue.pending);
    this.log?.debug({ pod: item.key, message: result.unschedulable }, 'pod is unschedulable');
    this.track(this.recordUnschedulable(pod, result.unschedulable));
  }

  private async bind(pod: KubeObject, node: string, started: number): Promise<void> {
    const key = podKey(pod);
    const ns = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    try {
      // PreBind: claims provisioned where the pod goes must be Bound before the pod is.
      await preBindVolumes(this.registry, pod, node, this.volumes, () => this.stopped);
      // On the informer's version: no read before the write; a conflict rereads below.
      await this.registry.bind(PODS, ns, name, node, pod);
      this.queue.delete(key);
      this.metrics.attempt?.('scheduled', (performance.now() - started) / 1000);
      const created = Date.parse(pod.metadata.creationTimestamp ?? '');
      if (!Number.isNaN(created)) this.metrics.podScheduled?.((Date.now() - created) / 1000);
      this.events.event(
        pod,
        'Normal',
        'Scheduled',
        `Successfully assigned ${ns}/${name} to ${node}`,
      );
    } catch (err) {
      this.cache.forget(key);
      await this.afterBindFailure(key, ns, name, err);
    } finally {
      this.releaseSlot();
      this.metrics.pending?.(this.queue.pending);
    }
  }

  /** A 409 or 404 because the pod was bound, is going or has gone is the end of it, not an error. */
  private async afterBindFailure(
    key: string,
    ns: string,
    name: string,
    err: unknown,
  ): Promise<void> {
    if (err instanceof ApiError && (err.reason === 'NotFound' || err.reason === 'Conflict')) {
      let current: KubeObject | undefined;
      try {
        current = await this.registry.get(PODS, ns, name);
      } catch {
        current = undefined;
      }
      if (!current || !this.responsible(current)) {
        this.log?.debug({ pod: key, reason: err.message }, 'pod bound or gone before its bind');
        this.queue.delete(key);
        return;
      }
      // Changed under the bind but still waiting: decide again on the new version.
      this.queue.add(current, true);
      this.queue.retryNow(key);
      return;
    }
    this.log?.warn({ err, pod: key }, 'binding failed; retrying');
    this.metrics.attempt?.('error', 0);
    this.queue.backoff(key);
  }

  /**
   * PodScheduled=False, reason Unschedulable, and a FailedScheduling event.
   * The status is written only when the message changes (no write storm from
   * retries), compared on the version the decision was made on, so it can
   * never overwrite a binding that landed meanwhile.
   */
  private async recordUnschedulable(pod: KubeObject, message: string): Promise<void> {
    this.events.event(pod, 'Warning', 'FailedScheduling', message);
    const status = rec(pod.status);
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter(isRecord);
    const current = conditions.find((c) => c.type === 'PodScheduled');
    if (
      current?.status === 'False' &&
      current.reason === 'Unschedulable' &&
      current.message === message
    )
      return;
    const condition = {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastProbeTime: null,
      lastTransitionTime:
        current?.status === 'False' && typeof current.lastTransitionTime === 'string'
          ? current.lastTransitionTime
          : timestamp(new Date()),
    };
    try {
      await this.registry.patch(
        PODS,
        pod.metadata.namespace,
        pod.metadata.name ?? '',
        'merge',
        {
          metadata: { resourceVersion: pod.metadata.resourceVersion },
          status: {
            conditions: [...conditions.filter((c) => c.type !== 'PodScheduled'), condition],
          },
        },
        { subresource: 'status', fieldManager: FIELD_MANAGER },
      );
    } catch (err) {
      // Changed or gone meanwhile: the next attempt decides on the new version.
      if (err instanceof ApiError && (err.reason === 'Conflict' || err.reason === 'NotFound'))
        return;
      this.log?.warn({ err, pod: podKey(pod) }, 'writing PodScheduled condition failed');
    }
  }

  private track(p: Promise<void>): void {
    const t = p.catch((err: unknown) => this.log?.error({ err }, 'scheduler task failed'));
    this.tasks.add(t);
    void t.finally(() => this.tasks.delete(t));
  }

  private async acquireSlot(): Promise<void> {
    while (this.inFlight >= this.maxInFlight && !this.stopped) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    this.inFlight++;
  }

  private releaseSlot(): void {
    this.inFlight--;
    this.slotWaiters.shift()?.();
  }
}
