// The set of pods this node runs. The control plane's full desired set (sent
// on every connect) and its changes decide which pod workers exist; a tick
// makes every worker look at its containers again. Pods the control plane
// no longer lists for this node are stopped and removed; pods it marks for
// deletion are stopped gracefully and then confirmed, so the API object goes.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeObject } from '../../controlplane/api/objects.js';
import { PodWorker, type DesiredPodInput, type WorkerContext } from './pod-worker.js';
import type { PodStatus } from './types.js';

export interface PodIdentity {
  namespace: string;
  name: string;
  uid: string;
}

export interface PodManagerOptions extends Omit<WorkerContext, 'onStatus'> {
  /** The pod's status changed: report it. */
  report(pod: PodIdentity, status: PodStatus): void;
  /** Everything of a pod marked for deletion is gone: confirm it. */
  terminated(pod: PodIdentity): void;
  tickMs?: number;
}

function identity(pod: KubeObject): PodIdentity {
  return {
    namespace: pod.metadata.namespace ?? '',
    name: pod.metadata.name ?? '',
    uid: pod.metadata.uid ?? '',
  };
}

export class PodManager {
  private readonly workers = new Map<string, PodWorker>();
  private readonly sent = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: PodManagerOptions) {}

  /** Picks up the pods a previous agent process ran, from their checkpoints. */
  async restore(): Promise<void> {
    let entries: string[] = [];
    try {
      entries = await readdir(this.opts.podsDir);
    } catch {
      return;
    }
    for (const uid of entries) {
      const worker = await PodWorker.restore(this.context(), join(this.opts.podsDir, uid));
      if (worker) this.workers.set(worker.uid, worker);
    }
  }

  start(): void {
    this.timer = setInterval(() => {
      for (const w of this.workers.values()) void w.sync();
    }, this.opts.tickMs ?? 1000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // Containers keep running: a new agent process adopts them.
    await Promise.all([...this.workers.values()].map((w) => w.sync()));
  }

  running(): PodIdentity[] {
    return [...this.workers.values()].filter((w) => !w.finished).map((w) => identity(w.pod));
  }

  /** What image GC must keep: every pod's images, running or about to start. */
  imagesInUse(): { ids: string[]; refs: string[] } {
    const ids: string[] = [];
    const refs: string[] = [];
    for (const w of this.workers.values()) {
      const i = w.images();
      ids.push(...i.ids);
      refs.push(...i.refs);
    }
    return { ids, refs };
  }

  worker(namespace: string, name: string, uid?: string): PodWorker | undefined {
    for (const w of this.workers.values()) {
      const m = w.pod.metadata;
      if (m.namespace === namespace && m.name === name && (!uid || m.uid === uid)) return w;
    }
    return undefined;
  }

  /** The complete desired set: start what is missing, stop what is not in it. */
  setDesired(pods: DesiredPodInput[]): void {
    const wanted = new Set(pods.map((p) => p.pod.metadata.uid));
    for (const [uid, w] of this.workers) {
      if (!wanted.has(uid)) void this.remove(w, false);
    }
    for (const p of pods) this.upsert(p);
    // After a reconnect every status is news to the control plane.
    this.sent.clear();
    for (const w of this.workers.values()) this.onStatus(w);
  }

  upsert(input: DesiredPodInput): void {
    const uid = input.pod.metadata.uid!;
    let w = this.workers.get(uid);
    if (!w) {
      if (input.pod.metadata.deletionTimestamp) {
        // Never started here (or already cleaned up): nothing to wait for.
        this.opts.terminated(identity(input.pod));
        return;
      }
      w = PodWorker.create(this.context(), input);
      this.workers.set(uid, w);
    } else {
      w.update(input);
    }
    if (input.pod.metadata.deletionTimestamp) void this.remove(w, true);
    else void w.sync();
  }

  /** The pod is gone from the API: stop it now. */
  delete(pod: KubeObject): void {
    const w = this.workers.get(pod.metadata.uid ?? '');
    if (w) void this.remove(w, false, 0);
  }

  private async remove(w: PodWorker, confirm: boolean, grace?: number): Promise<void> {
    await w.terminate(grace);
    if (this.workers.get(w.uid) === w) this.workers.delete(w.uid);
    this.sent.delete(w.uid);
    if (confirm) this.opts.terminated(identity(w.pod));
  }

  private context(): WorkerContext {
    return { ...this.opts, onStatus: (w) => this.onStatus(w) };
  }

  private onStatus(w: PodWorker): void {
    if (w.finished) return;
    const status = w.status();
    const json = JSON.stringify(status);
    if (this.sent.get(w.uid) === json) return;
    this.sent.set(w.uid, json);
    this.opts.report(identity(w.pod), status);
  }

  /** Forget what was sent: the next status of every pod is reported again. */
  resendAll(): void {
    this.sent.clear();
    for (const w of this.workers.values()) this.onStatus(w);
  }
}
