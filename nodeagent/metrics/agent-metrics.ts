// The node agent's Prometheus metrics, in its own prom-client Registry, named
// as the kubelet and cAdvisor name theirs so Kubernetes dashboards read them:
// kubelet_pod_start_duration_seconds, kubelet_runtime_operations_*,
// kubelet_running_pods/containers, prober_probe_total,
// container_cpu_usage_seconds_total, container_memory_working_set_bytes,
// kube_pod_container_status_restarts_total (kube-state-metrics' name; the
// kubelet has none). Image pulls have no stable upstream name and are
// shoal_agent_*. Per-pod labels are fine here (one node's pods, as cAdvisor
// has); gauges are computed at scrape time from the pod manager and the
// cgroups, so nothing is kept per pod between scrapes except the time a pod
// was first seen until it runs.

import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry as PromRegistry } from 'prom-client';
import type { PodStatus } from '../pods/types.js';
import { cgroupsPathFor } from '../runtime/spec.js';
import { readContainerStats } from './cgroup-stats.js';
import { exposition } from '../../controlplane/metrics/process-metrics.js';

export type RuntimeOperation = 'create' | 'start' | 'run' | 'kill' | 'delete' | 'exec';
export type ProbeType = 'liveness' | 'readiness' | 'startup';

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/** What the metrics read from the pod manager at scrape time. */
export interface PodSource {
  /** Pods this node runs now (not finished). */
  pods(): { ref: PodRef; status: PodStatus }[];
}

const POD_START_BUCKETS = [0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 300, 600];
const RUNTIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const PULL_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class AgentMetrics {
  readonly registry = new PromRegistry();
  readonly contentType: string = this.registry.contentType;

  private readonly podStart: Histogram;
  private readonly runtimeDuration: Histogram<'operation_type'>;
  private readonly runtimeErrors: Counter<'operation_type'>;
  private readonly pullDuration: Histogram;
  private readonly pullBytes: Counter;
  private readonly pullErrors: Counter;
  private readonly probes: Counter<'probe_type' | 'result' | 'container' | 'pod' | 'namespace'>;
  /** uid → when this agent first saw the pod (ms), until its first Running. */
  private readonly firstSeen = new Map<string, number>();
  private source: PodSource | undefined;

  constructor(private readonly cgroupParent: string) {
    const registers = [this.registry];
    // collect() runs with the metric as `this`; these read the instance's sources.
    const current = (): { ref: PodRef; status: PodStatus }[] => this.current();
    const prune = (pods: { ref: PodRef }[]): void => this.prune(pods);
    const parent = this.cgroupParent;
    this.podStart = new Histogram({
      name: 'kubelet_pod_start_duration_seconds',
      help: 'Duration in seconds from the agent seeing a pod for the first time to the pod running (image pulls included).',
      buckets: POD_START_BUCKETS,
      registers,
    });
    this.runtimeDuration = new Histogram({
      name: 'kubelet_runtime_operations_duration_seconds',
      help: 'Duration in seconds of runtime (runc) operations, by operation type.',
      labelNames: ['operation_type'],
      buckets: RUNTIME_BUCKETS,
      registers,
    });
    this.runtimeErrors = new Counter({
      name: 'kubelet_runtime_operations_errors_total',
      help: 'Cumulative number of runtime (runc) operation errors by operation type.',
      labelNames: ['operation_type'],
      registers,
    });
    for (const op of ['create', 'start', 'run', 'kill', 'delete', 'exec'] as const) {
      this.runtimeErrors.labels(op).inc(0);
    }
    this.pullDuration = new Histogram({
      name: 'shoal_agent_image_pull_duration_seconds',
      help: 'Duration in seconds of image pulls that reached a registry (successful or not).',
      buckets: PULL_BUCKETS,
      registers,
    });
    this.pullBytes = new Counter({
      name: 'shoal_agent_image_pull_bytes_total',
      help: 'Size of the images pulled: config plus compressed layers (layers already present are counted, not fetched).',
      registers,
    });
    this.pullErrors = new Counter({
      name: 'shoal_agent_image_pull_errors_total',
      help: 'Image pulls that failed.',
      registers,
    });
    this.probes = new Counter({
      name: 'prober_probe_total',
      help: 'Cumulative number of liveness, readiness or startup probes for a container, by result.',
      labelNames: ['probe_type', 'result', 'container', 'pod', 'namespace'],
      registers,
    });
    new Gauge({
      name: 'kubelet_running_pods',
      help: 'Number of pods that have a running container.',
      registers,
      collect() {
        this.set(
          current().filter((p) => p.status.containerStatuses?.some((c) => c.state?.running)).length,
        );
      },
    });
    new Gauge({
      name: 'kubelet_running_containers',
      help: 'Number of containers currently running, by state.',
      labelNames: ['container_state'],
      registers,
      collect() {
        let running = 0;
        let exited = 0;
        let waiting = 0;
        for (const p of current()) {
          for (const c of p.status.containerStatuses ?? []) {
            if (c.state?.running) running++;
            else if (c.state?.terminated) exited++;
            else waiting++;
          }
        }
        this.set({ container_state: 'running' }, running);
        this.set({ container_state: 'exited' }, exited);
        this.set({ container_state: 'created' }, waiting);
      },
    });
    new Counter({
      name: 'kube_pod_container_status_restarts_total',
      help: 'The number of container restarts per container.',
      labelNames: ['namespace', 'pod', 'container'],
      registers,
      collect() {
        this.reset();
        for (const p of current()) {
          for (const c of p.status.containerStatuses ?? []) {
            this.inc(
              { namespace: p.ref.namespace, pod: p.ref.name, container: c.name },
              c.restartCount,
            );
          }
        }
      },
    });
    // The cgroups are read once per scrape, by the CPU counter (registered,
    // hence collected, first); the memory gauge uses the same reading.
    let reading: {
      labels: Record<'namespace' | 'pod' | 'container', string>;
      cpu?: number;
      ws?: number;
    }[] = [];
    new Counter({
      name: 'container_cpu_usage_seconds_total',
      help: 'Cumulative cpu time consumed by the container in seconds (from its cgroup).',
      labelNames: ['namespace', 'pod', 'container'],
      registers,
      async collect() {
        const pods = current();
        prune(pods);
        reading = await Promise.all(
          pods.flatMap((p) =>
            (p.status.containerStatuses ?? [])
              .filter((c) => c.state?.running)
              .map(async (c) => {
                const stats = await readContainerStats(cgroupsPathFor(parent, p.ref.uid, c.name));
                return {
                  labels: { namespace: p.ref.namespace, pod: p.ref.name, container: c.name },
                  ...(stats.cpuSeconds !== undefined ? { cpu: stats.cpuSeconds } : {}),
                  ...(stats.workingSetBytes !== undefined ? { ws: stats.workingSetBytes } : {}),
                };
              }),
          ),
        );
        this.reset();
        for (const r of reading) if (r.cpu !== undefined) this.inc(r.labels, r.cpu);
      },
    });
    new Gauge({
      name: 'container_memory_working_set_bytes',
      help: 'Current working set of the container in bytes: memory usage minus inactive file cache (from its cgroup).',
      labelNames: ['namespace', 'pod', 'container'],
      registers,
      collect() {
        this.reset();
        for (const r of reading) if (r.ws !== undefined) this.set(r.labels, r.ws);
      },
    });
  }

  /** Forgets start clocks of pods no longer on this node. */
  private prune(pods: { ref: PodRef }[]): void {
    if (this.firstSeen.size <= pods.length) return;
    const live = new Set(pods.map((p) => p.ref.uid));
    for (const uid of this.firstSeen.keys()) if (!live.has(uid)) this.firstSeen.delete(uid);
  }

  private current(): { ref: PodRef; status: PodStatus }[] {
    return this.source?.pods() ?? [];
  }

  /** The pod manager the gauges read at scrape time. */
  setPodSource(source: PodSource): void {
    this.source = source;
  }

  metrics(): Promise<string> {
    return exposition(this.registry);
  }

  /**
   * A pod's status as reported to the control plane. The first report with
   * phase Running (or already finished) observes the pod start duration: from
   * status.startTime, when the agent took the pod on (second resolution, as
   * API timestamps), else from the first report, to now. Pods adopted from a
   * previous agent process (see adopted) are not observed: their start was
   * not this process's.
   */
  podStatus(ref: PodRef, status: PodStatus): void {
    const seen = this.firstSeen.get(ref.uid);
    if (seen === 0) return;
    if (status.phase === 'Running' || status.phase === 'Succeeded' || status.phase === 'Failed') {
      const startTime = status.startTime ? Date.parse(status.startTime) : NaN;
      const from = Number.isNaN(startTime) ? seen : startTime;
      if (from !== undefined) this.podStart.observe(Math.max(0, Date.now() - from) / 1000);
      // 0 marks "done": later reports of this pod observe nothing.
      this.firstSeen.set(ref.uid, 0);
      return;
    }
    if (seen === undefined) this.firstSeen.set(ref.uid, Date.now());
  }

  /** Pods this process restored from checkpoints at start: their starts are not measured. */
  adopted(uids: readonly string[]): void {
    for (const uid of uids) this.firstSeen.set(uid, 0);
  }

  /** The pod is gone from this node: forget its clock. */
  podGone(uid: string): void {
    this.firstSeen.delete(uid);
  }

  /** Times one runtime call; a throw counts as an error and is rethrown. */
  async runtimeOperation<T>(op: RuntimeOperation, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await call();
    } catch (err) {
      this.runtimeErrors.labels(op).inc();
      throw err;
    } finally {
      this.runtimeDuration.labels(op).observe((performance.now() - started) / 1000);
    }
  }

  /** One image pull ended. */
  imagePull(seconds: number, bytes: number | undefined): void {
    this.pullDuration.observe(seconds);
    if (bytes === undefined) this.pullErrors.inc();
    else this.pullBytes.inc(bytes);
  }

  /** One probe ran; result as the prober reports it (unknown: it could not run). */
  probeResult(
    ref: { namespace: string; name: string },
    container: string,
    probeType: ProbeType,
    result: 'success' | 'failure' | 'unknown',
  ): void {
    this.probes.labels(probeType, result, container, ref.name, ref.namespace).inc();
  }
}
