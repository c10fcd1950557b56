// The generic object registry: Kubernetes' create/get/list/update/patch/delete
// semantics over the Store, shared by the HTTP routes and by in-process
// controllers. It owns what every kind has in common — names, uids,
// generations, defaults, validation, finalizers, graceful pod deletion —
// and calls strategy.ts for what differs. Nothing is written unless the whole
// request is valid.

import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../objects.js';
import { isRecord } from '../objects.js';
import {
  ApiError,
  conflict,
  invalid,
  notFound,
  alreadyExists,
  type FieldError,
} from '../status.js';
import { apiVersionOf, findResource, type ResourceInfo } from '../resources.js';
import type { ListResult, Store, StoreEvent, WatchHandle } from '../../store/types.js';
import { StoreError } from '../../store/errors.js';
import { InOrder } from '../../store/in-order.js';
import { validateObject, validateUpdate } from '../validation/index.js';
import { serverSideApply, updateManagedFields, applyConflictError } from '../patch/index.js';
import { patchValue, type PatchType } from './patch-value.js';
import { copyJson, sameObject } from './json-value.js';
import {
  fieldValidationError,
  fieldValidationWarnings,
  patchFieldValidationError,
  pruneUnknownFields,
} from '../field-validation.js';
import {
  fieldsOf,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  supportedFields,
} from '../selectors.js';
import { applyDefaults } from './defaults.js';
import { LOCAL_STORAGE_CLASS, admitClaim } from './storage-admission.js';
import { admitPodPriority, admitPriorityClass } from './priority.js';
import { SYSTEM_PRIORITY_CLASSES } from '../validation/scheduling.js';
import { collectionPrefix, objectKey } from './keys.js';
import { hasStatus, initialStatus, specOf, tracksGeneration } from './strategy.js';
import {
  ServiceAllocator,
  keepAllocated,
  type ServiceAllocatorOptions,
  type ServiceClaims,
} from './service-allocator.js';

export type { PatchType };

export interface WriteOptions {
  /** `dryRun=All`: run every check, write nothing. */
  dryRun?: boolean;
  fieldManager?: string;
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
  subresource?: 'status';
  /**
   * Unknown fields: Strict rejects them, Warn drops them and says so in
   * `warnings`, Ignore drops them. Unset (in-process callers): no check.
   */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  warnings?: string[];
  /**
   * In-process callers that just read the object (from etcd or a watch):
   * the first attempt writes on this version without reading it again; a
   * conflict rereads, so a stale one costs a retry, never a lost write.
   */
  current?: KubeObject;
  /**
   * The body is handed over (the HTTP routes: parsed for this request alone):
   * the registry may change and keep it instead of working on a copy, which
   * every in-process caller, whose objects may be cached, gets.
   */
  bodyOwned?: boolean;
}

/** Server-side apply has recorded ownership itself; the write path must not record an Update too. */
interface InternalWriteOptions extends WriteOptions {
  applied?: boolean;
}

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  /** The object's JSON, from etcd's bytes (StoreEvent.json). */
  json?: () => readonly Buffer[];
}

export interface WatchSink {
  onEvent(ev: WatchEvent): void;
  onError(err: ApiError): void;
}

/** Namespaces that always exist, as in a fresh Kubernetes cluster. */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

const GENERATE_NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

export class Registry {
  /**
   * Namespaces known to be open, fed by a watch (startNamespaceCache): most
   * creates then need no extra etcd read. A namespace not in the cache, or
   * terminating in it, is always checked against etcd.
   */
  private readonly openNamespaces = new Set<string>();
  private namespaceWatch: WatchHandle | undefined;
  /**
   * PriorityClasses by name, fed by a watch started with the namespace cache,
   * so priority admission reads no etcd per pod create; undefined without it.
   */
  private priorityClassCache: Map<string, KubeObject> | undefined;
  private priorityClassWatch: WatchHandle | undefined;
  /** The last timestamp() and its second since the epoch. */
  private stampSecond = NaN;
  private stamp = '';
  /** Service clusterIPs and nodePorts, claimed in etcd before the Service is written. */
  readonly services: ServiceAllocator;

  constructor(
    readonly store: Store,
    private readonly now: () => Date = () => new Date(),
    serviceRanges: ServiceAllocatorOptions = {},
  ) {
    this.services = new ServiceAllocator(store, serviceRanges);
  }

  async startNamespaceCache(): Promise<void> {
    const ns = resource('', 'v1', 'namespaces');
    this.namespaceWatch = await this.watch(
      ns,
      undefined,
      {},
      {
        onEvent: (ev) => {
          const name = ev.object.metadata.name ?? '';
          if (ev.type === 'DELETED' || ev.object.metadata.deletionTimestamp)
            this.openNamespaces.delete(name);
          else this.openNamespaces.add(name);
        },
        onError: () => {
          // Stale entries must not outlive the watch: fall back to reading etcd, then resync.
          this.openNamespaces.clear();
          void this.startNamespaceCache().catch(() => undefined);
        },
      },
    );
    if (!this.priorityClassWatch) await this.startPriorityClassCache();
  }

  private async startPriorityClassCache(): Promise<void> {
    const cache = new Map<string, KubeObject>();
    this.priorityClassWatch = await this.watch(
      resource('scheduling.k8s.io', 'v1', 'priorityclasses'),
      undefined,
      {},
      {
        onEvent: (ev) => {
          const name = ev.object.metadata.name ?? '';
          if (ev.type === 'DELETED') cache.delete(name);
          else cache.set(name, ev.object);
        },
        onError: () => {
          this.priorityClassCache = undefined;
          void this.startPriorityClassCache().catch(() => undefined);
        },
      },
    );
    // The initial ADDED events arrived inside watch(): the cache is complete now.
    this.priorityClassCache = cache;
  }

  async stopNamespaceCache(): Promise<void> {
    await this.priorityClassWatch?.close();
    this.priorityClassWatch = undefined;
    this.priorityClassCache = undefined;
    await this.namespaceWatch?.close();
    this.namespaceWatch = undefined;
    this.openNamespaces.clear();
  }

  /** The built-in PriorityClasses system-cluster-critical and system-node-critical; safe on every start. */
  async ensureSystemPriorityClasses(): Promise<void> {
    const pcs = resource('scheduling.k8s.io', 'v1', 'priorityclasses');
    for (const [name, value] of Object.entries(SYSTEM_PRIORITY_CLASSES)) {
      try {
        await this.create(
          pcs,
          undefined,
          {
            metadata: { name },
            value,
            description:
              'Used for system critical pods that must not be moved from their current node.',
          },
          { fieldManager: 'shoal-controlplane' },
        );
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
      }
    }
  }

  /**
   * The PriorityClasses admission needs: from the watch-fed cache when it
   * runs, unless `name` is missing there (created a moment ago: etcd decides).
   */
  private async priorityClasses(name?: string): Promise<KubeObject[]> {
    const cached = this.priorityClassCache;
    if (cached && (!name || cached.has(name))) return [...cached.values()];
    const pcs = resource('scheduling.k8s.io', 'v1', 'priorityclasses');
    return (await this.list(pcs, undefined)).items;
  }

  /** The built-in `local` StorageClass (the default class); created only if absent. */
  async ensureDefaultStorageClass(): Promise<void> {
    const sc = resource('storage.k8s.io', 'v1', 'storageclasses');
    try {
      await this.create(sc, undefined, structuredClone(LOCAL_STORAGE_CLASS), {
        fieldManager: 'shoal-controlplane',
      });
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
    }
  }

  /** Creates the namespaces every cluster has; safe to call on every start. */
  async ensureSystemNamespaces(): Promise<void> {
    const ns = resource('', 'v1', 'namespaces');
    for (const name of SYSTEM_NAMESPACES) {
      try {
        await this.create(
          ns,
          undefined,
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
          {
            fieldManager: 'shoal-controlplane',
          },
        );
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
      }
    }
  }

  async create(
    r: ResourceInfo,
    namespace: string | undefined,
    body: unknown,
    opts: InternalWriteOptions = {},
  ): Promise<KubeObject> {
    if (!opts.applied)
      this.checkFields(r, body, opts, (p) => fieldValidationError(p, { resource: r, body }));
    const obj = this.checkBody(r, namespace, body, opts.bodyOwned ? 'owned' : 'copy');
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
    if (r.namespaced) {
      meta.namespace = namespace ?? meta.namespace ?? 'default';
    } else {
      delete meta.namespace;
    }
    // Fields the server owns on create, whatever the client sent.
    meta.uid = randomUUID();
    meta.creationTimestamp = this.timestamp();
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (tracksGeneration(r)) meta.generation = 1;
    else delete meta.generation;
    applyDefaults(r.kind, obj);
    // Priority admission: spec.priorityClassName → spec.priority; one global default class.
    if (r.kind === 'Pod') await admitPodPriority(obj, (name) => this.priorityClasses(name));
    if (r.kind === 'PriorityClass') await admitPriorityClass(obj, () => this.priorityClasses());
    // DefaultStorageClass admission and the pvc-protection finalizer.
    if (r.kind === 'PersistentVolumeClaim')
      await admitClaim(obj, async () => {
        const sc = resource('storage.k8s.io', 'v1', 'storageclasses');
        return (await this.list(sc, undefined)).items;
      });
    const status = initialStatus(r, obj);
    if (status === undefined) delete obj.status;
    else obj.status = status;

    this.validate(r, obj, validateObject(r, obj));
    if (r.namespaced) await this.checkNamespaceOpen(r, meta.namespace!, meta.name ?? '');
    this.recordUpdate(r, undefined, obj, opts);
    if (opts.dryRun) return obj;
    const claims = r.kind === 'Service' ? await this.services.allocateCreate(obj) : undefined;
    try {
      return await this.store.create(objectKey(r, meta.namespace, meta.name!), obj);
    } catch (err) {
      await claims?.undo().catch(() => undefined);
      throw this.mapStoreError(err, r, meta.name!);
    }
  }

  async get(r: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    const obj = await this.wrap(r, name, () => this.store.get(objectKey(r, namespace, name)));
    if (!obj) throw notFound(r.plural, r.group, name);
    return obj;
  }

  async list(
    r: ResourceInfo,
    namespace: string | undefined,
    q: ListQuery = {},
  ): Promise<ListResult> {
    const filter = this.filterFor(r, q);
    const revision = q.resourceVersion && q.resourceVersion !== '0' ? Number(q.resourceVersion) : 0;
    if (Number.isNaN(revision))
      throw new ApiError('BadRequest', `invalid resourceVersion: ${q.resourceVersion}`);
    return this.wrap(r, '', () =>
      this.store.list(collectionPrefix(r, namespace), {
        revision,
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.continue ? { continue: q.continue } : {}),
        ...(filter ? { filter } : {}),
      }),
    );
  }

  /**
   * PUT: replaces the object (or its status). A resourceVersion in the body is
   * a precondition; without one the update is unconditional, as Kubernetes
   * allows for its built-in kinds.
   */
  async update(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    this.checkFields(r, body, opts, (p) => fieldValidationError(p, { resource: r, body }));
    // Not copied: the update reads it, and prepareUpdate copies what it writes.
    const incoming = this.checkBody(r, namespace, body, 'view');
    if (incoming.metadata.name !== undefined && incoming.metadata.name !== name) {
      throw new ApiError(
        'BadRequest',
        `the name of the object (${incoming.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const expected = incoming.metadata.resourceVersion;
    return this.writeUpdate(r, namespace, name, opts, (current) => {
      if (expected && expected !== current.metadata.resourceVersion) {
        throw conflict(
          r.plural,
          r.group,
          name,
          'the object has been modified; please apply your changes to the latest version and try again',
        );
      }
      return incoming;
    });
  }

  async patch(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: WriteOptions = {},
  ): Promise<{ object: KubeObject; created: boolean }> {
    if (type === 'apply') return this.apply(r, namespace, name, patch, opts);
    const object = await this.writeUpdate(r, namespace, name, opts, (current) => {
      const next = patchValue(type, copyJson(current), patch, r.kind);
      if (!isRecord(next) || !isRecord(next.metadata)) {
        throw new ApiError(
          'BadRequest',
          'the patch made the object something other than an object',
        );
      }
      this.checkFields(r, next, opts, (p) => patchFieldValidationError(p, type, patch, next));
      const result = next as KubeObject;
      // A patch that names a version is a precondition on it.
      const rv = result.metadata.resourceVersion;
      if (rv && rv !== current.metadata.resourceVersion) {
        throw conflict(
          r.plural,
          r.group,
          name,
          'the object has been modified; please apply your changes to the latest version and try again',
        );
      }
      return result;
    });
    return { object, created: false };
  }

  async delete(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    const key = objectKey(r, namespace, name);
    for (;;) {
      const current = await this.get(r, namespace, name);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== current.metadata.uid) {
        throw conflict(
          r.plural,
          r.group,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ''}`,
        );
      }
      if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
        throw conflict(
          r.plural,
          r.group,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`,
        );
      }
      const marked = this.markForDeletion(r, current, opts);
      if (opts.dryRun) return { object: marked ?? current, deleted: marked === undefined };
      // Creates in this process see it closed at once, not when the watch says so.
      if (r.kind === 'Namespace') this.openNamespaces.delete(name);
      try {
        if (marked) {
          const written = await this.store.update(
            key,
            marked,
            Number(current.metadata.resourceVersion),
          );
          return { object: written, deleted: false };
        }
        const object = await this.store.delete(key, {
          resourceVersion: current.metadata.resourceVersion!,
        });
        if (r.kind === 'Service') await this.services.releaseAll(object);
        return { object, deleted: true };
      } catch (err) {
        // Lost a race with another writer: decide again on the new state.
        if (
          err instanceof StoreError &&
          (err.type === 'Conflict' || err.type === 'PreconditionFailed')
        )
          continue;
        throw this.mapStoreError(err, r, name);
      }
    }
  }

  async deleteCollection(
    r: ResourceInfo,
    namespace: string | undefined,
    q: ListQuery,
    opts: DeleteOptions = {},
  ): Promise<KubeObject[]> {
    const { items } = await this.list(r, namespace, q);
    const out: KubeObject[] = [];
    for (const item of items) {
      try {
        const { object } = await this.delete(r, item.metadata.namespace, item.metadata.name!, opts);
        out.push(object);
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
      }
    }
    return out;
  }

  /**
   * Streams changes. Without a resourceVersion (or "0") the stream starts with
   * an ADDED event per existing object, as kube-apiserver does.
   */
  async watch(
    r: ResourceInfo,
    namespace: string | undefined,
    q: ListQuery,
    sink: WatchSink,
  ): Promise<WatchHandle> {
    const labels = q.labelSelector ? parseLabelSelector(q.labelSelector) : undefined;
    const fields = q.fieldSelector
      ? parseFieldSelector(q.fieldSelector, supportedFields(r.kind))
      : undefined;
    const selective = labels !== undefined || fields !== undefined;
    const matches = (o: KubeObject): boolean =>
      (!labels || matchesLabels(labels, o.metadata.labels)) &&
      (!fields || matchesFields(fields, fieldsOf(r.kind, o)));
    let from: number;
    // A selective watch tells an object that starts or stops matching as ADDED
    // or DELETED, so it needs to know whether the object matched before each
    // event. `matching` holds the keys that do. A watch that starts after its
    // list knows every key from that list; one that starts at a resourceVersion
    // learns each key at its first event, and a MODIFIED of a key it has not
    // seen reads the object before the change (as kube-apiserver's etcd
    // watcher has etcd send every event's previous value, paid for here only
    // once per key and only by such watches).
    const matching = new Set<string>();
    let seen: Set<string> | undefined;
    const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (!q.resourceVersion || q.resourceVersion === '0') {
      const initial = await this.list(r, namespace, q);
      for (const object of initial.items) {
        if (selective) matching.add(keyOf(object));
        sink.onEvent({ type: 'ADDED', object });
      }
      from = initial.revision;
    } else {
      from = Number(q.resourceVersion);
      if (!Number.isInteger(from) || from < 0) {
        throw new ApiError('BadRequest', `invalid resourceVersion: ${q.resourceVersion}`);
      }
      seen = new Set();
    }
    let stopped = false;
    const fail = (err: Error): void => {
      if (stopped) return;
      stopped = true;
      const mapped = this.mapStoreError(err, r, '');
      sink.onError(
        mapped instanceof ApiError ? mapped : new ApiError('InternalError', mapped.message),
      );
    };
    /** Whether the object matched before the event; undefined when only a read can tell. */
    const matchedBefore = (ev: StoreEvent): boolean | undefined => {
      if (ev.type === 'ADDED') return false;
      // A delete carries the last state, which is what matched or not.
      if (ev.type === 'DELETED') return matches(ev.object);
      const key = keyOf(ev.object);
      return !seen || seen.has(key) || !ev.previous ? matching.has(key) : undefined;
    };
    const deliver = (ev: StoreEvent, before: boolean): void => {
      if (stopped) return;
      const key = keyOf(ev.object);
      // A deleted key's next event is its ADDED: no need to remember it.
      if (ev.type === 'DELETED') seen?.delete(key);
      else seen?.add(key);
      const now = ev.type !== 'DELETED' && matches(ev.object);
      if (now) matching.add(key);
      else matching.delete(key);
      // One that stopped matching is gone, to this watcher; one that started is new.
      const type = now ? (before ? 'MODIFIED' : 'ADDED') : before ? 'DELETED' : undefined;
      if (type === ev.type) sink.onEvent(ev);
      else if (type) sink.onEvent({ ...ev, type });
    };
    // Busy while a previous state is being read: the events after it wait.
    const backlog = new InOrder();
    // Filled in once the store's watch is open; a failed read closes it.
    const opened: { handle?: WatchHandle } = {};
    const failRead = (err: Error): void => {
      fail(err);
      void opened.handle?.close().catch(() => undefined);
    };
    const handle = await this.store.watch(collectionPrefix(r, namespace), from, {
      onEvent: (ev) => {
        if (!selective) {
          sink.onEvent(ev);
          return;
        }
        const before = backlog.busy ? undefined : matchedBefore(ev);
        if (before !== undefined) deliver(ev, before);
        else {
          backlog.add(async () => {
            deliver(ev, matchedBefore(ev) ?? matches(await ev.previous!()));
          }, failRead);
        }
      },
      // Told after the events that came before it.
      onError: (err) => (backlog.busy ? backlog.add(() => fail(err), fail) : fail(err)),
    });
    opened.handle = handle;
    if (stopped) await handle.close();
    return {
      close: async () => {
        stopped = true;
        await handle.close();
      },
    };
  }

  /**
   * pods/binding: sets spec.nodeName once, with the PodScheduled condition, in
   * one write compared on the pod's revision, so two schedulers racing for
   * one pod cannot both win. Pod spec is otherwise immutable, so this is the
   * only way a node gets assigned.
   */
  async bind(
    r: ResourceInfo,
    namespace: string,
    name: string,
    nodeName: string,
    /** The pod as the caller (the scheduler's informer) has it: compared on, not reread. */
    known?: KubeObject,
  ): Promise<KubeObject> {
    // The bound pod is written whole: a copy without managedFields (an
    // informer's that strips them) would drop them, so the stored one is read.
    const pod =
      known?.metadata.managedFields !== undefined ? known : await this.get(r, namespace, name);
    const spec = isRecord(pod.spec) ? pod.spec : {};
    if (pod.metadata.deletionTimestamp) {
      throw conflict(r.plural, r.group, name, 'pod is being deleted, cannot be assigned to a host');
    }
    if (spec.nodeName) {
      throw conflict(
        r.plural,
        r.group,
        name,
        `pod ${name} is already assigned to node "${String(spec.nodeName)}"`,
      );
    }
    const status = isRecord(pod.status) ? pod.status : {};
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter(
      (c) => !(isRecord(c) && c.type === 'PodScheduled'),
    );
    conditions.push({
      type: 'PodScheduled',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: this.timestamp(),
    });
    const bound: KubeObject = {
      ...pod,
      spec: { ...spec, nodeName },
      status: { ...status, conditions },
    };
    try {
      return await this.store.update(
        objectKey(r, namespace, name),
        bound,
        Number(pod.metadata.resourceVersion),
      );
    } catch (err) {
      throw this.mapStoreError(err, r, name);
    }
  }

  // ---- internals ----

  private async apply(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    opts: WriteOptions,
  ): Promise<{ object: KubeObject; created: boolean }> {
    this.checkFields(r, patch, opts, (p) => fieldValidationError(p));
    const applied = this.checkBody(r, namespace, patch, opts.bodyOwned ? 'owned' : 'copy');
    if (applied.metadata.name !== undefined && applied.metadata.name !== name) {
      throw new ApiError(
        'BadRequest',
        `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const manager = opts.fieldManager;
    if (!manager) {
      throw new ApiError(
        'BadRequest',
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    }
    applied.metadata.name = name;
    // The applied configuration merged into what is live (or into nothing), or its conflicts.
    const merge = (live: KubeObject | undefined): KubeObject => {
      const result = serverSideApply({
        live,
        applied,
        manager,
        force: opts.force ?? false,
        kind: r.kind,
        apiVersion: apiVersionOf(r),
        now: this.timestamp(),
      });
      if ('conflicts' in result) throw applyConflictError(result.conflicts);
      return result.object;
    };
    const existing = await this.wrap(r, name, () => this.store.get(objectKey(r, namespace, name)));
    if (!existing) {
      const merged = merge(undefined);
      try {
        // merged is serverSideApply's, not the request's: create copies it.
        const object = await this.create(r, namespace, merged, {
          ...opts,
          applied: true,
          bodyOwned: false,
        });
        return { object, created: true };
      } catch (err) {
        // Someone created it meanwhile: apply onto theirs.
        if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
      }
    }
    const object = await this.writeUpdate(r, namespace, name, { ...opts, applied: true }, merge);
    return { object, created: false };
  }

  /**
   * The read-modify-write every update, patch and apply shares: `mutate` turns
   * the current object into the requested one; this function keeps what the
   * client may not change, bumps generation, validates, and writes with a
   * revision compare (retrying when another writer got in between).
   */
  private async writeUpdate(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts: InternalWriteOptions,
    mutate: (current: KubeObject) => KubeObject,
  ): Promise<KubeObject> {
    const key = objectKey(r, namespace, name);
    let known = opts.current;
    for (;;) {
      const current = known ?? (await this.get(r, namespace, name));
      known = undefined;
      // mutate must not change current (update ignores it, patch copies it, apply merges into a copy).
      const requested = mutate(current);
      const next = this.prepareUpdate(r, current, requested, opts);
      if (next === 'unchanged') return current;
      if (opts.dryRun) return next;
      const finished = isDeletionFinished(r, next);
      let claims: ServiceClaims | undefined;
      try {
        if (finished) {
          const gone = await this.store.delete(key, {
            resourceVersion: current.metadata.resourceVersion!,
          });
          if (r.kind === 'Service') await this.services.releaseAll(gone);
          return gone;
        }
        if (r.kind === 'Service' && opts.subresource !== 'status')
          claims = await this.services.allocateUpdate(current, next);
        const written = await this.store.update(
          key,
          next,
          Number(current.metadata.resourceVersion),
        );
        await claims?.commit();
        return written;
      } catch (err) {
        await claims?.undo().catch(() => undefined);
        if (
          err instanceof StoreError &&
          (err.type === 'Conflict' || err.type === 'PreconditionFailed')
        ) {
          continue;
        }
        throw this.mapStoreError(err, r, name);
      }
    }
  }

  private prepareUpdate(
    r: ResourceInfo,
    current: KubeObject,
    requested: KubeObject,
    opts: InternalWriteOptions,
  ): KubeObject | 'unchanged' {
    if (opts.subresource === 'status') {
      // The status subresource changes status only (never spec or metadata).
      // Only status is copied: the rest is current's, which nothing here
      // changes, and copying whole objects was a large part of every agent's
      // status report. A status handed over (bodyOwned) is kept as it is:
      // nothing below changes it, so a retry after a conflict reuses it intact.
      const merged: KubeObject = {
        ...current,
        metadata: { ...current.metadata },
        status: opts.bodyOwned ? requested.status : copyJson(requested.status),
      };
      return this.finishUpdate(r, current, merged, opts);
    }
    const next = copyJson(requested);
    next.apiVersion = apiVersionOf(r);
    next.kind = r.kind;
    const cm = current.metadata;
    const nm = next.metadata;
    // Server-owned metadata is never taken from the client.
    nm.name = cm.name!;
    if (cm.namespace !== undefined) nm.namespace = cm.namespace;
    else delete nm.namespace;
    nm.uid = cm.uid!;
    nm.creationTimestamp = cm.creationTimestamp!;
    nm.resourceVersion = cm.resourceVersion!;
    if (cm.deletionTimestamp) nm.deletionTimestamp = cm.deletionTimestamp;
    else delete nm.deletionTimestamp;
    if (cm.deletionGracePeriodSeconds !== undefined)
      nm.deletionGracePeriodSeconds = cm.deletionGracePeriodSeconds;
    else delete nm.deletionGracePeriodSeconds;
    if (cm.generation !== undefined) nm.generation = cm.generation;
    else delete nm.generation;

    if (hasStatus(r)) {
      if (current.status === undefined) delete next.status;
      else next.status = copyJson(current.status);
    }
    applyDefaults(r.kind, next);
    if (r.kind === 'Service') keepAllocated(current, next);
    if (tracksGeneration(r) && specOf(current) !== specOf(next)) {
      nm.generation = (cm.generation ?? 0) + 1;
    }
    return this.finishUpdate(r, current, next, opts);
  }

  private finishUpdate(
    r: ResourceInfo,
    current: KubeObject,
    next: KubeObject,
    opts: InternalWriteOptions,
  ): KubeObject | 'unchanged' {
    this.validate(r, next, validateUpdate(r, current, next));
    if (!opts.applied) this.recordUpdate(r, current, next, opts);
    if (sameObject(current, next)) return 'unchanged';
    return next;
  }

  /** Records field ownership of a non-apply write in managedFields. */
  private recordUpdate(
    r: ResourceInfo,
    old: KubeObject | undefined,
    updated: KubeObject,
    opts: InternalWriteOptions,
  ): void {
    if (opts.applied || !opts.fieldManager) return;
    const result = updateManagedFields({
      old,
      updated,
      manager: opts.fieldManager,
      operation: 'Update',
      apiVersion: apiVersionOf(r),
      now: this.timestamp(),
      ...(opts.subresource ? { subresource: opts.subresource } : {}),
    });
    const managed = result.metadata.managedFields ?? [];
    if (managed.length > 0) updated.metadata.managedFields = managed;
    else delete updated.metadata.managedFields;
  }

  /**
   * What a delete does to an object that cannot go at once: a bound pod waits
   * for its node (graceful termination), an object with finalizers waits for
   * them. Returns the marked object, or undefined when it can be removed now.
   */
  private markForDeletion(
    r: ResourceInfo,
    current: KubeObject,
    opts: DeleteOptions,
  ): KubeObject | undefined {
    const next = copyJson(current);
    const meta = next.metadata;
    const finalizers = new Set(meta.finalizers ?? []);
    if (!meta.deletionTimestamp) {
      if (opts.propagationPolicy === 'Foreground') finalizers.add('foregroundDeletion');
      if (opts.propagationPolicy === 'Orphan') finalizers.add('orphan');
    }
    if (r.kind === 'Namespace') {
      // The namespace controller empties it, then removes the finalizer.
      if (meta.deletionTimestamp) return current;
      meta.deletionTimestamp = this.timestamp();
      meta.deletionGracePeriodSeconds = 0;
      next.status = { ...(isRecord(next.status) ? next.status : {}), phase: 'Terminating' };
      if (finalizers.size > 0) meta.finalizers = [...finalizers];
      return next;
    }
    let grace = 0;
    if (r.kind === 'Pod') grace = podGracePeriod(current, opts.gracePeriodSeconds);
    if (grace === 0 && finalizers.size === 0) return undefined;
    if (meta.deletionTimestamp) {
      // Already terminating: only a shorter grace period changes anything.
      if (
        meta.deletionGracePeriodSeconds !== undefined &&
        grace >= meta.deletionGracePeriodSeconds
      ) {
        return current;
      }
    }
    meta.deletionTimestamp = new Date(this.now().getTime() + grace * 1000)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    meta.deletionGracePeriodSeconds = grace;
    if (finalizers.size > 0) meta.finalizers = [...finalizers];
    if (grace === 0 && finalizers.size === 0) return undefined;
    return next;
  }

  /**
   * The body as an object of kind r, or why not. `copy`: a deep copy the
   * caller may change; `owned`: the body itself (handed over); `view`: a
   * shallow copy with apiVersion, kind and metadata set, to be read only.
   */
  private checkBody(
    r: ResourceInfo,
    namespace: string | undefined,
    body: unknown,
    mode: 'copy' | 'owned' | 'view',
  ): KubeObject {
    if (!isRecord(body))
      throw new ApiError('BadRequest', 'the body of the request was not a JSON object');
    const obj = (
      mode === 'copy' ? copyJson(body) : mode === 'view' ? { ...body } : body
    ) as KubeObject;
    const expected = apiVersionOf(r);
    if (obj.apiVersion !== undefined && obj.apiVersion !== expected) {
      throw new ApiError(
        'BadRequest',
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${expected})`,
      );
    }
    if (obj.kind !== undefined && obj.kind !== r.kind) {
      throw new ApiError(
        'BadRequest',
        `the kind in the data (${String(obj.kind)}) does not match the expected kind (${r.kind})`,
      );
    }
    obj.apiVersion = expected;
    obj.kind = r.kind;
    if (obj.metadata === undefined) obj.metadata = {};
    if (!isRecord(obj.metadata)) {
      throw invalid(r.kind, r.group, '', [
        {
          field: 'metadata',
          type: 'FieldValueInvalid',
          detail: 'Invalid value: must be an object',
        },
      ]);
    }
    if (
      r.namespaced &&
      namespace &&
      obj.metadata.namespace &&
      obj.metadata.namespace !== namespace
    ) {
      throw new ApiError(
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    return obj;
  }

  /** Drops unknown fields from value in place; Strict turns them into an error, Warn into warnings. */
  private checkFields(
    r: ResourceInfo,
    value: unknown,
    opts: WriteOptions,
    strict: (paths: string[]) => ApiError,
  ): void {
    if (!opts.fieldValidation) return;
    const paths = pruneUnknownFields(r, value);
    if (paths.length === 0) return;
    if (opts.fieldValidation === 'Strict') throw strict(paths);
    if (opts.fieldValidation === 'Warn') opts.warnings?.push(...fieldValidationWarnings(paths));
  }

  private validate(r: ResourceInfo, obj: KubeObject, errors: FieldError[]): void {
    if (errors.length > 0)
      throw invalid(r.kind, r.group, obj.metadata.name ?? obj.metadata.generateName ?? '', errors);
  }

  private async checkNamespaceOpen(
    r: ResourceInfo,
    namespace: string,
    name: string,
  ): Promise<void> {
    // Open in the watch-fed cache: no read (kube's NamespaceLifecycle admission
    // reads its informer the same way). Anything else is checked in etcd.
    if (this.openNamespaces.has(namespace)) return;
    const ns = await this.wrap(r, name, () =>
      this.store.get(objectKey(resource('', 'v1', 'namespaces'), undefined, namespace)),
    );
    if (!ns) throw notFound('namespaces', '', namespace);
    if (ns.metadata.deletionTimestamp) {
      throw new ApiError(
        'Forbidden',
        `${r.plural} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        { name, kind: r.plural, group: r.group },
      );
    }
  }

  private filterFor(r: ResourceInfo, q: ListQuery): ((o: KubeObject) => boolean) | undefined {
    const labels = q.labelSelector ? parseLabelSelector(q.labelSelector) : undefined;
    const fields = q.fieldSelector
      ? parseFieldSelector(q.fieldSelector, supportedFields(r.kind))
      : undefined;
    if (!labels && !fields) return undefined;
    return (o) =>
      (!labels || matchesLabels(labels, o.metadata.labels)) &&
      (!fields || matchesFields(fields, fieldsOf(r.kind, o)));
  }

  private timestamp(): string {
    const now = this.now();
    // Every write of one second has the same: formatted once (several times a write before).
    const second = Math.floor(now.getTime() / 1000);
    if (second === this.stampSecond) return this.stamp;
    // Whole seconds, as Kubernetes writes times: toISOString always ends in ".sssZ".
    const stamp = now.toISOString().slice(0, -5) + 'Z';
    this.stampSecond = second;
    this.stamp = stamp;
    return stamp;
  }

  private async wrap<T>(r: ResourceInfo, name: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw this.mapStoreError(err, r, name);
    }
  }

  /** StoreError → Status, at the boundary between storage and API. */
  mapStoreError(err: unknown, r: ResourceInfo, name: string): Error {
    if (!(err instanceof StoreError)) return err instanceof Error ? err : new Error(String(err));
    switch (err.type) {
      case 'NotFound':
        return notFound(r.plural, r.group, name);
      case 'AlreadyExists':
        return alreadyExists(r.plural, r.group, name);
      case 'Conflict':
      case 'PreconditionFailed':
        return conflict(r.plural, r.group, name, err.message);
      case 'Expired':
        return new ApiError('Expired', err.message, undefined, { cause: err });
      case 'InvalidContinue':
        return new ApiError('BadRequest', err.message, undefined, { cause: err });
      case 'Unavailable':
        return new ApiError(
          'ServiceUnavailable',
          `storage is unavailable: ${err.message}`,
          { retryAfterSeconds: 1 },
          { cause: err },
        );
    }
  }
}

function resource(group: string, version: string, plural: string): ResourceInfo {
  const r = findResource(group, version, plural);
  if (!r) throw new Error(`resource ${plural} is not served`);
  return r;
}

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++)
    s += GENERATE_NAME_CHARS[Math.floor(Math.random() * GENERATE_NAME_CHARS.length)];
  return s;
}

/** The grace period a pod delete gets: 0 when no node runs it, else the request's or the pod's own. */
function podGracePeriod(pod: KubeObject, requested: number | undefined): number {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const status = isRecord(pod.status) ? pod.status : {};
  if (!spec.nodeName) return 0;
  if (status.phase === 'Succeeded' || status.phase === 'Failed') return 0;
  if (requested !== undefined) return Math.max(0, requested);
  const own = spec.terminationGracePeriodSeconds;
  return typeof own === 'number' ? own : 30;
}

/** An object marked for deletion whose last finalizer is gone (and, for a pod, whose node let go). */
function isDeletionFinished(r: ResourceInfo, obj: KubeObject): boolean {
  const m = obj.metadata;
  if (!m.deletionTimestamp || (m.finalizers?.length ?? 0) > 0) return false;
  if (r.kind === 'Pod') return m.deletionGracePeriodSeconds === 0;
  if (r.kind === 'Namespace') {
    // A namespace also waits for spec.finalizers, which the namespace controller clears when it is empty.
    const specFinalizers = isRecord(obj.spec) ? obj.spec.finalizers : undefined;
    return !Array.isArray(specFinalizers) || specFinalizers.length === 0;
  }
  return true;
}
