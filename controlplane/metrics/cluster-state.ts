// Counts for shoal_nodes and shoal_pods, kept by list+watch so a scrape only
// reads a few numbers: with 30,000 pods a list per scrape would decode every
// pod each time. Only a short summary per object is kept (the node's Ready
// status, the pod's namespace and phase), not the object, so this costs a
// few MB where an informer would hold the whole cluster once more. Runs on
// every replica (a standby serves /metrics too); a watch that ends relists,
// as an informer does.

import type { Logger } from 'pino';
import { isRecord, type KubeObject } from '../api/objects.js';
import { findResource, type ResourceInfo } from '../api/resources.js';
import type { Registry } from '../api/registry/registry.js';
import type { WatchHandle } from '../store/types.js';

const RELIST_DELAY_MS = 1000;

/** A summary of one object: the label values it counts under. */
type Summarize = (obj: KubeObject) => string;

/** Counts objects of one resource by a summary string, kept current by a watch. */
export class SummaryCounter {
  private readonly summaries = new Map<string, string>();
  private readonly counts = new Map<string, number>();
  private watch: WatchHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private synced = false;

  constructor(
    private readonly registry: Registry,
    private readonly resource: ResourceInfo,
    private readonly summarize: Summarize,
    private readonly log?: Logger,
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Summary → number of objects with it; only non-zero entries. */
  snapshot(): ReadonlyMap<string, number> {
    return this.counts;
  }

  /** Lists in the background and keeps watching; never throws (a failed list retries). */
  start(): void {
    this.stopped = false;
    this.relistSoon(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const w = this.watch;
    this.watch = undefined;
    await w?.close().catch(() => undefined);
  }

  private relistSoon(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.relist().catch((err: unknown) => {
        this.log?.debug({ err, resource: this.resource.plural }, 'metrics relist failed');
        this.relistSoon(RELIST_DELAY_MS);
      });
    }, ms);
  }

  private async relist(): Promise<void> {
    const old = this.watch;
    this.watch = undefined;
    await old?.close().catch(() => undefined);
    if (this.stopped) return;
    const { items, revision } = await this.registry.list(this.resource, undefined, {});
    if (this.stopped) return;
    this.summaries.clear();
    this.counts.clear();
    for (const obj of items) this.put(keyOf(obj), this.summarize(obj));
    this.synced = true;
    const handle = await this.registry.watch(
      this.resource,
      undefined,
      { resourceVersion: String(revision) },
      {
        onEvent: (ev) => {
          const key = keyOf(ev.object);
          if (ev.type === 'DELETED') this.remove(key);
          else this.put(key, this.summarize(ev.object));
        },
        onError: () => this.relistSoon(RELIST_DELAY_MS),
      },
    );
    if (this.stopped) await handle.close().catch(() => undefined);
    else this.watch = handle;
  }

  private put(key: string, summary: string): void {
    const prev = this.summaries.get(key);
    if (prev === summary) return;
    if (prev !== undefined) this.bump(prev, -1);
    this.summaries.set(key, summary);
    this.bump(summary, 1);
  }

  private remove(key: string): void {
    const prev = this.summaries.get(key);
    if (prev === undefined) return;
    this.summaries.delete(key);
    this.bump(prev, -1);
  }

  private bump(summary: string, by: number): void {
    const n = (this.counts.get(summary) ?? 0) + by;
    if (n <= 0) this.counts.delete(summary);
    else this.counts.set(summary, n);
  }
}

function keyOf(obj: KubeObject): string {
  const m = obj.metadata;
  return m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? '');
}

/** The node's Ready condition status: True, False or Unknown (no condition yet is Unknown). */
export function nodeReadyStatus(node: KubeObject): 'True' | 'False' | 'Unknown' {
  const status = isRecord(node.status) ? node.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  for (const c of conditions) {
    if (isRecord(c) && c.type === 'Ready') {
      return c.status === 'True' ? 'True' : c.status === 'False' ? 'False' : 'Unknown';
    }
  }
  return 'Unknown';
}

const PHASES = new Set(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']);

/** The pod's phase as a bounded label value (a missing or odd phase is Pending, as the API defaults it). */
export function podPhase(pod: KubeObject): string {
  const status = isRecord(pod.status) ? pod.status : {};
  const phase = typeof status.phase === 'string' ? status.phase : 'Pending';
  return PHASES.has(phase) ? phase : 'Unknown';
}

/** Separates namespace and phase in a pod summary; neither can contain it. */
export const SUMMARY_SEPARATOR = '\u0000';

export class ClusterState {
  readonly nodes: SummaryCounter;
  readonly pods: SummaryCounter;

  constructor(registry: Registry, log?: Logger) {
    this.nodes = new SummaryCounter(
      registry,
      findResource('', 'v1', 'nodes')!,
      nodeReadyStatus,
      log,
    );
    this.pods = new SummaryCounter(
      registry,
      findResource('', 'v1', 'pods')!,
      (p) => `${p.metadata.namespace ?? ''}${SUMMARY_SEPARATOR}${podPhase(p)}`,
      log,
    );
  }

  start(): void {
    this.nodes.start();
    this.pods.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.nodes.stop(), this.pods.stop()]);
  }
}
