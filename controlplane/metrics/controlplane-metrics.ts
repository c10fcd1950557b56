// Every Prometheus metric of one control-plane process, in its own prom-client
// Registry (not the global one, so two control planes in one test process
// keep apart). The instrumented modules never import prom-client: they call
// optional hooks (SchedulerMetrics, WorkQueueMetrics, EtcdStoreMetrics,
// WatchMetrics, fastify request hooks), and this file turns the calls into
// series named as Kubernetes names them, so kube-apiserver dashboards and
// alerts read Shoal unchanged. Labels are bounded: verbs, groups and
// resources come from the served set, never from names, uids or IPs.
//
// The hot path (~800 creates/s) does a map lookup for a cached label child
// and an add; nothing else is allocated per request.

import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry as PromRegistry,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client';
import type { ResourceInfo } from '../api/resources.js';
import type { SchedulerMetrics } from '../scheduler/metrics.js';
import type { WorkQueueMetrics } from '../controllers/runtime/workqueue.js';
import type { EtcdStoreMetrics } from '../store/etcd-store.js';
import { exposition } from './process-metrics.js';
import { requestInfo, storageTypeOfKey, type RequestInfo } from './request-info.js';
import { SUMMARY_SEPARATOR, type ClusterState } from './cluster-state.js';

/** kube-apiserver's request latency buckets (seconds), trimmed to what a small cluster sees. */
const REQUEST_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.5, 2, 3, 5, 10, 30, 60,
];
/** etcd_request_duration_seconds' buckets. */
const ETCD_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** kube-scheduler's scheduling_attempt_duration buckets: 1 ms doubling. */
const SCHEDULER_BUCKETS = [
  0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
  16.384,
];
/** workqueue_work_duration_seconds: client-go's 10^-8 … 10^1 decades, from 1 µs. */
const WORK_BUCKETS = [1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10];

/**
 * Scheduler queue sizes by kube-scheduler's queue label, read at scrape time.
 * unschedulable is optional: Shoal's queue retries every failed pod after its
 * backoff (kube-scheduler's backoffQ), it has no separate unschedulable set.
 */
export type PendingPodsReader = () => { active: number; backoff: number; unschedulable?: number };

/** Metric values as prom-client's getMetricsAsJSON gives them. */
export type MetricSource = () => Promise<MetricObjectWithValues<MetricValue<string>>[]>;

interface LeaderStatus {
  readonly leaderElectionMasterStatus: 0 | 1;
}

const REQUEST_STATE = Symbol('shoal.metrics.request');

interface RequestState {
  info: RequestInfo;
  start: number;
}

type InstrumentedRequest = FastifyRequest & { [REQUEST_STATE]?: RequestState };

type Child = { inc(n?: number): void };
type Observer = { observe(v: number): void };

export class ControlPlaneMetrics {
  readonly registry = new PromRegistry();
  readonly contentType: string = this.registry.contentType;

  private readonly requests: Counter<'verb' | 'group' | 'resource' | 'subresource' | 'code'>;
  private readonly requestDuration: Histogram<'verb' | 'resource' | 'subresource'>;
  private readonly inflight: Gauge<'request_kind'>;
  private readonly watchEvents: Counter<'group' | 'version' | 'kind'>;
  private readonly watchers: Gauge<'group' | 'version' | 'kind'>;
  private readonly etcdDuration: Histogram<'operation' | 'type'>;
  private readonly scheduleAttempts: Counter<'result' | 'profile'>;
  private readonly attemptDuration: Histogram<'result' | 'profile'>;
  private readonly podSchedulingDuration: Histogram;
  private readonly wqDepth: Gauge<'name'>;
  private readonly wqAdds: Counter<'name'>;
  private readonly wqRetries: Counter<'name'>;
  private readonly wqDuration: Histogram<'name'>;

  // Label children cached by a key built from bounded parts, so the hot path
  // skips prom-client's label hashing.
  private readonly requestChildren = new Map<string, Child>();
  private readonly durationChildren = new Map<string, Observer>();
  private readonly etcdChildren = new Map<string, Observer>();
  private readonly watchChildren = new Map<ResourceInfo, Child>();
  private readonly inflightReadOnly: { inc(n?: number): void; dec(): void };
  private readonly inflightMutating: { inc(n?: number): void; dec(): void };

  private pendingReader: PendingPodsReader | undefined;
  /** Each lease this process campaigns for, by its name. */
  private readonly leaders = new Map<string, LeaderStatus>();
  private cluster: ClusterState | undefined;
  private readonly sources: MetricSource[] = [];

  constructor() {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'apiserver_request_total',
      help: 'Counter of apiserver requests broken out for each verb, group, resource, subresource and HTTP response code.',
      labelNames: ['verb', 'group', 'resource', 'subresource', 'code'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Response latency distribution in seconds for each verb and resource (watches and followed logs excluded).',
      labelNames: ['verb', 'resource', 'subresource'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.inflight = new Gauge({
      name: 'apiserver_current_inflight_requests',
      help: 'Number of requests currently being served, by kind (readOnly or mutating); long-running requests excluded.',
      labelNames: ['request_kind'],
      registers,
    });
    this.inflightReadOnly = this.inflight.labels('readOnly');
    this.inflightMutating = this.inflight.labels('mutating');
    this.inflightReadOnly.inc(0);
    this.inflightMutating.inc(0);
    this.watchEvents = new Counter({
      name: 'apiserver_watch_events_total',
      help: 'Number of events sent in watch clients.',
      labelNames: ['group', 'version', 'kind'],
      registers,
    });
    this.watchers = new Gauge({
      name: 'apiserver_registered_watchers',
      help: 'Number of currently registered watchers for a given resources',
      labelNames: ['group', 'version', 'kind'],
      registers,
    });
    this.etcdDuration = new Histogram({
      name: 'etcd_request_duration_seconds',
      help: 'Etcd request latency in seconds for each operation and object type.',
      labelNames: ['operation', 'type'],
      buckets: ETCD_BUCKETS,
      registers,
    });
    this.scheduleAttempts = new Counter({
      name: 'scheduler_schedule_attempts_total',
      help: 'Number of attempts to schedule pods, by the result. unschedulable means a pod could not be scheduled, while error means an internal scheduler problem.',
      labelNames: ['result', 'profile'],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: 'scheduler_scheduling_attempt_duration_seconds',
      help: 'Scheduling attempt latency in seconds (scheduling algorithm + binding).',
      labelNames: ['result', 'profile'],
      buckets: SCHEDULER_BUCKETS,
      registers,
    });
    this.podSchedulingDuration = new Histogram({
      name: 'scheduler_pod_scheduling_sli_duration_seconds',
      help: 'E2e latency for a pod being scheduled, from the pod creation to its binding (creationTimestamp resolution: 1 s).',
      buckets: [0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    });
    for (const result of ['scheduled', 'unschedulable', 'error']) {
      this.scheduleAttempts.labels(result, 'default-scheduler').inc(0);
    }
    // collect() runs with the metric as `this`; these read the instance's sources.
    const pendingSizes = (): ReturnType<PendingPodsReader> | undefined => this.pendingReader?.();
    const leaders = (): ReadonlyMap<string, LeaderStatus> => this.leaders;
    const nodeCounts = (): ReadonlyMap<string, number> | undefined =>
      this.cluster?.nodes.snapshot();
    const podCounts = (): ReadonlyMap<string, number> | undefined => this.cluster?.pods.snapshot();
    new Gauge({
      name: 'scheduler_pending_pods',
      help: 'Number of pending pods, by the queue type. active means number of pods in activeQ; backoff means number of pods in backoffQ; unschedulable means number of pods in unschedulablePods.',
      labelNames: ['queue'],
      registers,
      collect() {
        const sizes = pendingSizes() ?? { active: 0, backoff: 0 };
        this.set({ queue: 'active' }, sizes.active);
        this.set({ queue: 'backoff' }, sizes.backoff);
        if (sizes.unschedulable !== undefined)
          this.set({ queue: 'unschedulable' }, sizes.unschedulable);
      },
    });
    this.wqDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue.',
      labelNames: ['name'],
      registers,
    });
    this.wqAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue.',
      labelNames: ['name'],
      registers,
    });
    this.wqRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue.',
      labelNames: ['name'],
      registers,
    });
    this.wqDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: ['name'],
      buckets: WORK_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, l] of leaders()) this.set({ name }, l.leaderElectionMasterStatus);
      },
    });
    new Gauge({
      name: 'shoal_nodes',
      help: 'Number of nodes by the status of their Ready condition.',
      labelNames: ['condition', 'status'],
      registers,
      collect() {
        this.reset();
        const counts = nodeCounts();
        for (const status of ['True', 'False', 'Unknown']) {
          this.set({ condition: 'Ready', status }, counts?.get(status) ?? 0);
        }
      },
    });
    new Gauge({
      name: 'shoal_pods',
      help: 'Number of pods by phase and namespace.',
      labelNames: ['phase', 'namespace'],
      registers,
      collect() {
        // Reset first: a namespace whose last pod went must not keep its old count.
        this.reset();
        const counts = podCounts();
        if (!counts) return;
        for (const [summary, n] of counts) {
          const sep = summary.indexOf(SUMMARY_SEPARATOR);
          this.set({ namespace: summary.slice(0, sep), phase: summary.slice(sep + 1) }, n);
        }
      },
    });
  }

  /** The Prometheus text exposition of every metric, this thread's summed with each source's. */
  async metrics(): Promise<string> {
    if (this.sources.length === 0) return exposition(this.registry);
    const all = await Promise.all([
      this.registry.getMetricsAsJSON(),
      ...this.sources.map((source) => source()),
    ]);
    return exposition(AggregatorRegistry.aggregate(all));
  }

  /**
   * Another thread's values of the same metrics (the controller thread keeps
   * its own ControlPlaneMetrics): counters and histograms add up, and a
   * series one side never sets reads 0 there, so sums are the process's.
   */
  addSource(source: MetricSource): void {
    this.sources.push(source);
  }

  /**
   * Counts every request the app serves (401s included: the hooks run before
   * authentication) and serves GET /metrics on it, behind whatever
   * authentication the app has, as kube-apiserver does. Call before the
   * authentication hook is added.
   */
  instrumentApiServer(app: FastifyInstance): void {
    app.addHook('onRequest', (req: InstrumentedRequest, _reply, done) => {
      const info = requestInfo(req.method, req.url);
      req[REQUEST_STATE] = { info, start: performance.now() };
      if (!info.longRunning) (info.readOnly ? this.inflightReadOnly : this.inflightMutating).inc();
      done();
    });
    app.addHook('onResponse', (req: InstrumentedRequest, reply: FastifyReply, done) => {
      const state = req[REQUEST_STATE];
      if (state) this.recordRequest(state, reply.statusCode);
      done();
    });
    app.get('/metrics', async (_req, reply) => {
      const text = await this.metrics();
      return reply.type(this.registry.contentType).send(text);
    });
  }

  private recordRequest(state: RequestState, code: number): void {
    const { info } = state;
    const key = `${info.verb}|${info.group}|${info.resource}|${info.subresource}|${code}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      child = this.requests.labels(
        info.verb,
        info.group,
        info.resource,
        info.subresource,
        String(code),
      );
      this.requestChildren.set(key, child);
    }
    child.inc();
    if (info.longRunning) return;
    (info.readOnly ? this.inflightReadOnly : this.inflightMutating).dec();
    const dkey = `${info.verb}|${info.resource}|${info.subresource}`;
    let obs = this.durationChildren.get(dkey);
    if (!obs) {
      obs = this.requestDuration.labels(info.verb, info.resource, info.subresource);
      this.durationChildren.set(dkey, obs);
    }
    obs.observe((performance.now() - state.start) / 1000);
  }

  /** Hooks for streamWatch: one count per event sent to a watcher, and the open watches. */
  readonly watchMetrics = {
    onEvent: (r: ResourceInfo): void => {
      let child = this.watchChildren.get(r);
      if (!child) {
        child = this.watchEvents.labels(r.group, r.version, r.kind);
        this.watchChildren.set(r, child);
      }
      child.inc();
    },
    onOpen: (r: ResourceInfo): void => this.watchers.labels(r.group, r.version, r.kind).inc(),
    onClose: (r: ResourceInfo): void => this.watchers.labels(r.group, r.version, r.kind).dec(),
  };

  /** Hooks for EtcdStore: the type label is the resource plural read from the key. */
  readonly etcdMetrics: EtcdStoreMetrics = {
    request: (operation, key, seconds) => {
      const type = storageTypeOfKey(key);
      const k = `${operation}|${type}`;
      let obs = this.etcdChildren.get(k);
      if (!obs) {
        obs = this.etcdDuration.labels(operation, type);
        this.etcdChildren.set(k, obs);
      }
      obs.observe(seconds);
    },
  };

  /** Hooks for the scheduler (profile "default-scheduler", the only one Shoal runs). */
  readonly schedulerMetrics: SchedulerMetrics = {
    attempt: (result, seconds) => {
      this.scheduleAttempts.labels(result, 'default-scheduler').inc();
      this.attemptDuration.labels(result, 'default-scheduler').observe(seconds);
    },
    podScheduled: (seconds) => this.podSchedulingDuration.observe(seconds),
    queueSizes: (reader) => {
      this.pendingReader = reader;
    },
  };

  /** Hooks for one controller's work queue, by its name. */
  workQueueMetrics(name: string): WorkQueueMetrics {
    const depth = this.wqDepth.labels(name);
    const adds = this.wqAdds.labels(name);
    const retries = this.wqRetries.labels(name);
    const duration = this.wqDuration.labels(name);
    // Present from the start, so a quiet controller shows 0 rather than no series.
    depth.set(0);
    adds.inc(0);
    retries.inc(0);
    return {
      depth: (n) => depth.set(n),
      add: () => adds.inc(),
      retry: () => retries.inc(),
      workDuration: (s) => duration.observe(s),
    };
  }

  /** leader_election_master_status{name} reads this at scrape time; one per lease. */
  setLeaderElector(elector: LeaderStatus, name: string): void {
    this.leaders.set(name, elector);
  }

  /** shoal_nodes and shoal_pods read these counts at scrape time. */
  setClusterState(state: ClusterState): void {
    this.cluster = state;
  }
}
