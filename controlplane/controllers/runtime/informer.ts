// A cache of one resource kept current by list+watch, as client-go's shared
// informer: handlers hear adds, updates and deletes; list() and get() read
// the cache. Objects in the cache are shared: NEVER modify one — copy it
// (structuredClone) before changing anything. A watch that ends (410 Expired,
// a broken stream) relists and resumes, telling handlers what changed.
// Cached objects carry no managedFields, as kube-scheduler's and
// kube-controller-manager's informers strip them: no controller reads them,
// an update that omits them keeps the stored ones (a bind, which writes the
// pod it is given, rereads one given without them), and they were a large
// part of each cached pod. The scheduler keeps them on the pods it has yet to
// bind (keepManagedFieldsOf), so a bind needs no read.

import type { Logger } from 'pino';
import { withoutManagedFields, type KubeObject } from '../../api/objects.js';
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

/** Index values of an object (e.g. its controller's uid); an object may have several. */
export type IndexFunc = (obj: KubeObject) => string[];

interface Index {
  fn: IndexFunc;
  /** value → key → object */
  entries: Map<string, Map<string, KubeObject>>;
}

export class Informer {
  private readonly items = new Map<string, KubeObject>();
  private readonly indexes = new Map<string, Index>();
  private readonly handlers: InformerHandlers[] = [];
  private watch: WatchHandle | undefined;
  private stopped = false;
  private synced = false;
  private timer: NodeJS.Timeout | undefined;
  private keepManagedFields: ((obj: KubeObject) => boolean) | undefined;

  constructor(
    private readonly registry: Registry,
    readonly resource: ResourceInfo,
    private readonly query: ListQuery = {},
    private readonly log?: Logger,
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  /**
   * Caches the objects `keep` selects with their managedFields: those its
   * reader writes back whole (the scheduler's unbound pods). Objects received
   * before this is called stay as they were cached.
   */
  keepManagedFieldsOf(keep: (obj: KubeObject) => boolean): void {
    this.keepManagedFields = keep;
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

  /**
   * Keeps the cache indexed by `fn` under `name` (client-go's indexers), so a
   * controller reads the few objects it needs, not a scan of them all: with
   * 30,000 pods each ReplicaSet sync filtered every pod. Adding an index
   * again under the same name keeps the first.
   */
  addIndex(name: string, fn: IndexFunc): void {
    if (this.indexes.has(name)) return;
    const index: Index = { fn, entries: new Map() };
    this.indexes.set(name, index);
    for (const [key, obj] of this.items) this.indexAdd(index, key, obj);
  }

  /** The objects whose index `name` has `value`. */
  byIndex(name: string, value: string): KubeObject[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`informer ${this.resource.plural} has no index ${name}`);
    return [...(index.entries.get(value)?.values() ?? [])];
  }

  private indexAdd(index: Index, key: string, obj: KubeObject): void {
    for (const value of index.fn(obj)) {
      let m = index.entries.get(value);
      if (!m) index.entries.set(value, (m = new Map()));
      m.set(key, obj);
    }
  }

  private indexRemove(index: Index, key: string, obj: KubeObject): void {
    for (const value of index.fn(obj)) {
      const m = index.entries.get(value);
      m?.delete(key);
      if (m?.size === 0) index.entries.delete(value);
    }
  }

  private put(key: string, obj: KubeObject): void {
    const old = this.items.get(key);
    for (const index of this.indexes.values()) {
      if (old) this.indexRemove(index, key, old);
      this.indexAdd(index, key, obj);
    }
    this.items.set(key, obj);
  }

  private remove(key: string): void {
    const old = this.items.get(key);
    if (!old) return;
    for (const index of this.indexes.values()) this.indexRemove(index, key, old);
    this.items.delete(key);
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
        this.remove(key);
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

  private apply(op: 'put' | 'delete', key: string, received: KubeObject): void {
    const old = this.items.get(key);
    const obj = this.keepManagedFields?.(received) ? received : withoutManagedFields(received);
    if (op === 'delete') {
      if (!old) return;
      this.remove(key);
      for (const h of this.handlers) h.delete?.(obj);
      return;
    }
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    this.put(key, obj);
    for (const h of this.handlers) {
      if (old) h.update?.(old, obj);
      else h.add?.(obj);
    }
  }
}
