// The agent's side of pod Events: what the kubelet reports about a pod
// (Pulling, Pulled, Created, Started, Killing, BackOff, Unhealthy, Failed, …)
// goes to the control plane as PodEvent messages, which it records as v1
// Events, aggregated by count. The kubelet's event helpers (message texts,
// field paths) live here so the places where things happen stay one line.
//
// While the agent is disconnected, events wait in a bounded queue (the
// oldest is dropped when it is full) and go out in order once it has
// registered again. An event identical to one sent within the last
// REPEAT_WINDOW_MS is dropped: a pod in backoff is synced every second and
// would otherwise write its BackOff event as often (client-go's recorder has
// a spam filter for the same reason).

import type { Logger } from 'pino';
import type { KubeObject } from '../controlplane/api/objects.js';
import type { PodEvent } from '../proto/generated/shoal/agent/v1/PodEvent.js';

export type PodEventType = 'Normal' | 'Warning';

export interface PodEventInput {
  type: PodEventType;
  reason: string;
  message: string;
  /** spec.containers{web}: which part of the pod it is about. */
  fieldPath?: string;
}

/** Where the pod worker reports what happens to a pod. */
export type PodEventSink = (pod: KubeObject, event: PodEventInput) => void;

export interface EventQueueOptions {
  /** Sends now; false when there is no registered stream (the event is queued). */
  send: (event: PodEvent) => boolean;
  /** Events kept while disconnected (default 1000). */
  maxQueued?: number;
  /** Identical events within this window are sent once (default 10 s). */
  repeatWindowMs?: number;
  now?: () => number;
  logger?: Logger;
}

const MAX_QUEUED = 1000;
const REPEAT_WINDOW_MS = 10_000;
// The kubelet truncates event messages; the API would take more, etcd should not.
const MAX_MESSAGE = 1024;

export class EventQueue {
  private readonly queued: PodEvent[] = [];
  private readonly lastSent = new Map<string, number>();
  private dropped = 0;

  constructor(private readonly opts: EventQueueOptions) {}

  /** The sink to hand the pod workers. */
  readonly sink: PodEventSink = (pod, ev) => this.emit(pod, ev);

  emit(pod: KubeObject, ev: PodEventInput): void {
    const m = pod.metadata;
    const event: PodEvent = {
      namespace: m.namespace ?? '',
      name: m.name ?? '',
      uid: m.uid ?? '',
      type: ev.type,
      reason: ev.reason,
      message:
        ev.message.length > MAX_MESSAGE ? `${ev.message.slice(0, MAX_MESSAGE - 3)}...` : ev.message,
      field_path: ev.fieldPath ?? '',
    };
    const now = (this.opts.now ?? Date.now)();
    const key = JSON.stringify(event);
    const last = this.lastSent.get(key);
    if (last !== undefined && now - last < (this.opts.repeatWindowMs ?? REPEAT_WINDOW_MS)) return;
    this.lastSent.set(key, now);
    if (this.lastSent.size > 10_000) this.forgetOld(now);
    // Queued events go first, so the control plane sees them in order.
    if (this.queued.length === 0 && this.opts.send(event)) return;
    this.queued.push(event);
    if (this.queued.length > (this.opts.maxQueued ?? MAX_QUEUED)) {
      this.queued.shift();
      this.dropped++;
    }
  }

  /** Sends what waited for a connection; call once the agent has registered. */
  flush(): void {
    if (this.dropped > 0) {
      this.opts.logger?.warn({ dropped: this.dropped }, 'pod events dropped while disconnected');
      this.dropped = 0;
    }
    while (this.queued.length > 0) {
      if (!this.opts.send(this.queued[0]!)) return;
      this.queued.shift();
    }
  }

  /** Events waiting for a connection (tests, metrics). */
  get pending(): number {
    return this.queued.length;
  }

  private forgetOld(now: number): void {
    const window = this.opts.repeatWindowMs ?? REPEAT_WINDOW_MS;
    for (const [k, t] of this.lastSent) if (now - t >= window) this.lastSent.delete(k);
  }
}

/** The field path of a container: spec.containers{web} or spec.initContainers{setup}. */
export function containerFieldPath(pod: KubeObject, container: string): string {
  const spec = (pod.spec ?? {}) as { initContainers?: { name?: string }[] };
  const init = (spec.initContainers ?? []).some((c) => c.name === container);
  return `spec.${init ? 'initContainers' : 'containers'}{${container}}`;
}

/** The kubelet's texts, so every caller says the same thing. */
export const kubeletEvents = {
  pulling: (image: string): PodEventInput => ({
    type: 'Normal',
    reason: 'Pulling',
    message: `Pulling image "${image}"`,
  }),
  pulled: (image: string, ms: number, bytes: number): PodEventInput => ({
    type: 'Normal',
    reason: 'Pulled',
    message: `Successfully pulled image "${image}" in ${seconds(ms)} (${seconds(ms)} including waiting). Image size: ${bytes} bytes.`,
  }),
  alreadyPresent: (image: string): PodEventInput => ({
    type: 'Normal',
    reason: 'Pulled',
    message: `Container image "${image}" already present on machine`,
  }),
  pullFailed: (message: string): PodEventInput => ({
    type: 'Warning',
    reason: 'Failed',
    message,
  }),
  error: (reason: string): PodEventInput => ({
    type: 'Warning',
    reason: 'Failed',
    message: `Error: ${reason}`,
  }),
  pullBackOff: (image: string): PodEventInput => ({
    type: 'Normal',
    reason: 'BackOff',
    message: `Back-off pulling image "${image}"`,
  }),
  crashBackOff: (container: string, pod: KubeObject): PodEventInput => ({
    type: 'Warning',
    reason: 'BackOff',
    message: `Back-off restarting failed container ${container} in pod ${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? ''}(${pod.metadata.uid ?? ''})`,
  }),
  created: (container: string): PodEventInput => ({
    type: 'Normal',
    reason: 'Created',
    message: `Created container ${container}`,
  }),
  started: (container: string): PodEventInput => ({
    type: 'Normal',
    reason: 'Started',
    message: `Started container ${container}`,
  }),
  killing: (container: string, why?: string): PodEventInput => ({
    type: 'Normal',
    reason: 'Killing',
    message: why ?? `Stopping container ${container}`,
  }),
  unhealthy: (kind: 'liveness' | 'readiness' | 'startup', message: string): PodEventInput => ({
    type: 'Warning',
    reason: 'Unhealthy',
    message: `${kind[0]!.toUpperCase()}${kind.slice(1)} probe failed: ${message.trim()}`,
  }),
  oomKilled: (container: string): PodEventInput => ({
    type: 'Warning',
    reason: 'OOMKilling',
    message: `Container ${container} was killed: out of memory (its cgroup reached its memory limit)`,
  }),
};

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}
