// A cache of one resource kept current by list+watch, as client-go's shared
// informer: handlers hear adds, updates and deletes; list() and get() read
// the cache. Objects in the cache are shared: NEVER modify one — copy it
// (structuredClone) before changing anything. A watch that ends (410 Expired,
// a broken stream) relists and resumes, telling handlers what changed.

import type { Logger } from 'pino';
import type { KubeObject } from '../../api/objects.js';
import type { ResourceInfo } from '../../api/resources.js';
import type { ListQuery, Registry } from '../../api/registry/registry.js';
import type { WatchHandle } from '../../store/types.js';

export interface InformerHandlers {
  add?(obj: KubeObject): void;
  update?(oldObj: KubeObject, newObj: KubeObject): void;
  delete?(obj: KubeObject): void;
}

const RELIST_DELAY_MS = 500;

export function objectKeyOf(obj: KubeObject): string {
  const m = obj.metadata;
  return m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? '');
}

export class Informer {
  private readonly items = new Map<string, KubeObject>();
  private readonly handlers: InformerHandlers[] = [];
  private watch: WatchHandle | undefined;
  private stopped = false;
  private synced = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: Registry,
    readonly resource: ResourceInfo,
    private readonly query: ListQuery = {},
    private readonly log?: Logger,
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  on(handlers: InformerHandlers): void {
    this.handlers.push(handlers);
  }

  list(filter?: (o: KubeObject) => boolean): KubeObject[] {
    const all = [...this.items.values()];
    return filter ? all.filter(filter) : all;
  }

  get(key: string): KubeObject | undefined {
    return this.items.get(key);
  }

  /** Lists, fills the cache (handlers hear each as an add), then watches. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.relist();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.watch?.close();
    this.watch = undefined;
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    const { items, revision } = await this.registry.list(this.resource, undefined, {
      ...(this.query.labelSelector ? { labelSelector: this.query.labelSelector } : {}),
      ...(this.query.fieldSelector ? { fieldSelector: this.query.fieldSelector } : {}),
    });
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKeyOf(obj);
      seen.add(key);
      this.apply('put', key, obj);
    }
    for (const [key, old] of this.items) {
      if (!seen.has(key)) {
        this.items.delete(key);
        for (const h of this.handlers) h.delete?.(old);
      }
    }
    this.synced = true;
    this.watch = await this.registry.watch(
      this.resource,
      undefined,
      { ...this.query, resourceVersion: String(revision) },
      {
        onEvent: (ev) =>
          this.apply(ev.type === 'DELETED' ? 'delete' : 'put', objectKeyOf(ev.object), ev.object),
        onError: (err) => {
          this.log?.debug({ err, resource: this.resource.plural }, 'watch ended; relisting');
          this.scheduleRelist();
        },
      },
    );
  }

  private scheduleRelist(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.relist().catch((err: unknown) => {
        this.log?.warn({ err, resource: this.resource.plural }, 'relist failed; retrying');
        this.scheduleRelist();
      });
    }, RELIST_DELAY_MS);
  }

  private apply(op: 'put' | 'delete', key: string, obj: KubeObject): void {
    const old = this.items.get(key);
    if (op === 'delete') {
      if (!old) return;
      this.items.delete(key);
      for (const h of this.handlers) h.delete?.(obj);
      return;
    }
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    this.items.set(key, obj);
    for (const h of this.handlers) {
      if (old) h.update?.(old, obj);
      else h.add?.(obj);
    }
  }
}
