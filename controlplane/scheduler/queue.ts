// The pods waiting for a node, as kube-scheduler's PriorityQueue: an active
// heap ordered by spec.priority (highest first), then creation time (oldest
// first); a pod that found no node waits out a backoff (1 s doubling to
// 10 s) before it is tried again — or less, when a cluster event that may
// have made room moves every waiting pod back to the heap. A pod handed out
// by pop() is in flight until the scheduler says how its attempt ended;
// updates meanwhile only refresh the object it will see next time.

import type { KubeObject } from '../api/objects.js';
import { isRecord } from '../api/objects.js';
import { podKey } from './pod-info.js';

export interface QueuedPod {
  readonly key: string;
  /** The latest object the informer reported. */
  readonly pod: KubeObject;
  /** Failed attempts so far. */
  readonly attempts: number;
}

type State = 'active' | 'backoff' | 'inflight';

interface Entry {
  key: string;
  pod: KubeObject;
  priority: number;
  created: number;
  seq: number;
  attempts: number;
  state: State;
  /** Bumped whenever the entry (re)enters the heap: older heap slots for it are stale. */
  ticket: number;
  timer: NodeJS.Timeout | undefined;
  /** Its last failure may be cured by a pod appearing (pod affinity). */
  waitsForPods: boolean;
}

interface Slot {
  entry: Entry;
  ticket: number;
}

export interface SchedulingQueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

function priorityOf(pod: KubeObject): number {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  return typeof spec.priority === 'number' ? spec.priority : 0;
}

function createdOf(pod: KubeObject): number {
  const t = Date.parse(pod.metadata.creationTimestamp ?? '');
  return Number.isNaN(t) ? 0 : t;
}

/** a before b: higher priority, then older, then first queued. */
function before(a: Entry, b: Entry): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.created !== b.created) return a.created < b.created;
  return a.seq < b.seq;
}

export class SchedulingQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly heap: Slot[] = [];
  /** Entries in state 'backoff', so cluster events touch only those, not every pending pod. */
  private readonly backingOff = new Set<Entry>();
  private waiters: ((p: QueuedPod | undefined) => void)[] = [];
  private seq = 0;
  private closed = false;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(opts: SchedulingQueueOptions = {}) {
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  }

  /** Pods waiting for a node: in the heap, backing off, or being scheduled now. */
  get pending(): number {
    return this.entries.size;
  }

  get activeCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.state === 'active') n++;
    return n;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * A pending pod, new or updated. `changed` (its spec or labels differ from
   * what was last tried) ends a backoff: the failure may not hold any more.
   */
  add(pod: KubeObject, changed = true): void {
    if (this.closed) return;
    const key = podKey(pod);
    const e = this.entries.get(key);
    if (!e) {
      const entry: Entry = {
        key,
        pod,
        priority: priorityOf(pod),
        created: createdOf(pod),
        seq: this.seq++,
        attempts: 0,
        state: 'active',
        ticket: 0,
        timer: undefined,
        waitsForPods: false,
      };
      this.entries.set(key, entry);
      this.activate(entry);
      return;
    }
    e.pod = pod;
    if (e.state === 'backoff' && changed) this.activate(e);
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    if (e.timer) clearTimeout(e.timer);
    this.entries.delete(key);
    this.backingOff.delete(e);
    // Its heap slot, if any, is now stale and skipped by pop().
    e.ticket++;
  }

  /** The next pod to schedule, waiting for one; undefined once closed. */
  pop(): Promise<QueuedPod | undefined> {
    const next = this.take();
    if (next || this.closed) return Promise.resolve(next);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The attempt found no node (or failed): try again after the pod's backoff. */
  backoff(key: string, opts: { waitsForPods?: boolean } = {}): void {
    const e = this.entries.get(key);
    if (!e || this.closed) return;
    e.attempts++;
    e.waitsForPods = opts.waitsForPods ?? false;
    e.state = 'backoff';
    this.backingOff.add(e);
    if (e.timer) clearTimeout(e.timer);
    const delay = Math.min(this.initialBackoffMs * 2 ** (e.attempts - 1), this.maxBackoffMs);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      if (this.entries.get(key) === e && e.state === 'backoff') this.activate(e);
    }, delay);
  }

  /** The attempt was overtaken (the pod changed under it): try again at once. */
  retryNow(key: string): void {
    const e = this.entries.get(key);
    if (e && e.state === 'inflight') this.activate(e);
  }

  /**
   * A cluster event that may make room (a node added or changed, a pod
   * deleted): every backing-off pod goes back to the heap now. With `onlyWaitingForPods`,
   * only those whose last failure a new pod could cure.
   */
  moveAllToActive(opts: { onlyWaitingForPods?: boolean } = {}): void {
    for (const e of [...this.backingOff]) {
      if (opts.onlyWaitingForPods && !e.waitsForPods) continue;
      this.activate(e);
    }
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) if (e.timer) clearTimeout(e.timer);
    for (const w of this.waiters) w(undefined);
    this.waiters = [];
  }

  private activate(e: Entry): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
    e.state = 'active';
    this.backingOff.delete(e);
    e.ticket++;
    this.push({ entry: e, ticket: e.ticket });
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.take());
  }

  private take(): QueuedPod | undefined {
    for (;;) {
      const slot = this.popHeap();
      if (!slot) return undefined;
      const e = slot.entry;
      if (slot.ticket !== e.ticket || e.state !== 'active' || this.entries.get(e.key) !== e)
        continue;
      e.state = 'inflight';
      return { key: e.key, pod: e.pod, attempts: e.attempts };
    }
  }

  // A binary heap of slots, `before` at the top.
  private push(slot: Slot): void {
    const h = this.heap;
    h.push(slot);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!.entry, h[parent]!.entry)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private popHeap(): Slot | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined) return undefined;
    if (h.length === 0) return top;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!.entry, h[m]!.entry)) m = l;
      if (r < h.length && before(h[r]!.entry, h[m]!.entry)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
    return top;
  }
}
