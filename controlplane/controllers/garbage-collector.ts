// The garbage collector: objects whose owners are gone are deleted, as
// Kubernetes' GC does for ownerReferences. Three propagation policies, set
// by whoever deletes the owner:
// - Background (the default): the owner goes at once; its dependents are
//   deleted afterwards, when their owner is found missing.
// - Foreground: the registry leaves the owner in place with a
//   deletionTimestamp and the `foregroundDeletion` finalizer; its dependents
//   are deleted (in foreground too, so theirs go first), and once none with
//   blockOwnerDeletion remains the finalizer is removed and the owner goes.
// - Orphan: the owner carries the `orphan` finalizer; the reference to it is
//   removed from every dependent, then the finalizer, and the owner goes.
//
// One informer per served kind keeps an index owner uid → dependents. Work
// keys name one object (`replicasets.apps/default/web`, `pods/default/web-x`,
// `nodes/n1`); reconcile(key) looks at that object's owners (is one
// missing?) and, if it is being deleted with a GC finalizer, at its
// dependents. An owner absent from the cache is confirmed with a live read
// before anything is deleted, since a fresh owner may not have reached the
// cache yet.

import type { Logger } from 'pino';
import type { KubeObject, OwnerReference } from '../api/objects.js';
import type { Registry } from '../api/registry/registry.js';
import { RESOURCES, findKind, type ResourceInfo } from '../api/resources.js';
import type { Informer } from './runtime/informer.js';
import { objectKeyOf } from './runtime/informer.js';
import { WorkQueue } from './runtime/workqueue.js';
import { runWorkers } from './runtime/run.js';
import type { Controller, ControllerDeps } from './types.js';
import { isApiError } from './owner-refs.js';

export const FOREGROUND_FINALIZER = 'foregroundDeletion';
export const ORPHAN_FINALIZER = 'orphan';
const FIELD_MANAGER = 'garbage-collector';

/** How an owner stands, seen from one dependent. */
type OwnerState = 'present' | 'absent' | 'waiting' | 'unknown';

export interface GarbageCollectorOptions {
  workers?: number;
}

/** The resource part of a work key: `pods`, `replicasets.apps`. */
export function resourceName(r: ResourceInfo): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

/** The work key of an object of resource r. */
export function gcKey(r: ResourceInfo, obj: KubeObject): string {
  return `${resourceName(r)}/${objectKeyOf(obj)}`;
}

export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';
  private readonly registry: Registry;
  private readonly log: Logger | undefined;
  private readonly informers = new Map<string, { r: ResourceInfo; informer: Informer }>();
  /** owner uid → work keys of the objects that name it in ownerReferences. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly queue = new WorkQueue('garbage-collector');
  private running: Promise<void> | undefined;

  constructor(
    deps: ControllerDeps,
    private readonly opts: GarbageCollectorOptions = {},
  ) {
    this.registry = deps.registry;
    this.log = deps.logger;
    // Every served kind: any of them can own, and (namespaced or not) be owned.
    for (const r of RESOURCES) {
      const informer = deps.informers.forResource(r);
      this.informers.set(resourceName(r), { r, informer });
      informer.on({
        add: (obj) => this.added(r, obj),
        update: (old, obj) => this.updated(r, old, obj),
        delete: (obj) => this.deleted(r, obj),
      });
    }
  }

  async start(): Promise<void> {
    this.running = runWorkers(this.queue, this, {
      workers: this.opts.workers ?? 2,
      ...(this.log ? { logger: this.log } : {}),
    });
  }

  async stop(): Promise<void> {
    this.queue.shutdown();
    await this.running;
  }

  /** Acts on one object: its GC finalizers if it is being deleted, else its missing owners. */
  async reconcile(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const entry = this.informers.get(key.slice(0, slash));
    if (!entry) return;
    const { r, informer } = entry;
    const obj = informer.get(key.slice(slash + 1));
    if (!obj) return;
    const m = obj.metadata;
    if (m.deletionTimestamp) {
      const finalizers = m.finalizers ?? [];
      if (finalizers.includes(ORPHAN_FINALIZER)) await this.orphanDependents(r, obj);
      else if (finalizers.includes(FOREGROUND_FINALIZER)) await this.deleteDependents(r, obj);
      return;
    }
    await this.checkOwners(r, obj);
  }

  // ---- the three cases -------------------------------------------------------

  /** A live object: deleted when every owner is gone, unlinked from the gone ones otherwise. */
  private async checkOwners(r: ResourceInfo, obj: KubeObject): Promise<void> {
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const states = await Promise.all(refs.map((ref) => this.ownerState(obj, ref)));
    const solid = states.some((s) => s === 'present' || s === 'unknown');
    if (solid) {
      // Another owner keeps it: only drop references that hold nothing up or
      // would hold a foreground deletion up.
      const drop = new Set(
        refs.filter((_, i) => states[i] === 'absent' || states[i] === 'waiting').map((x) => x.uid),
      );
      if (drop.size > 0) await this.removeOwnerRefs(r, obj, drop);
      return;
    }
    // No owner keeps it. An owner deleting in foreground wants this gone first, and its dependents before it.
    const policy = states.includes('waiting') ? 'Foreground' : 'Background';
    await this.deleteObject(r, obj, policy);
  }

  /** Foreground: dependents go first; the owner's finalizer goes when none blocks any more. */
  private async deleteDependents(r: ResourceInfo, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid ?? '';
    let blocking = 0;
    for (const { r: depR, obj: dep } of this.dependentsOf(uid)) {
      // Deleted in foreground, or unlinked if another owner keeps it.
      if (!dep.metadata.deletionTimestamp) await this.checkOwners(depR, dep);
      if (
        dep.metadata.ownerReferences?.some(
          (ref) => ref.uid === uid && ref.blockOwnerDeletion === true,
        )
      ) {
        blocking++;
      }
    }
    // Each blocking dependent's deletion queues this owner again.
    if (blocking > 0) return;
    await this.removeFinalizer(r, owner, FOREGROUND_FINALIZER);
  }

  /** Orphan: every dependent forgets this owner, then the owner goes. */
  private async orphanDependents(r: ResourceInfo, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid ?? '';
    for (const { r: depR, obj: dep } of this.dependentsOf(uid)) {
      await this.removeOwnerRefs(depR, dep, new Set([uid]));
    }
    await this.removeFinalizer(r, owner, ORPHAN_FINALIZER);
  }

  // ---- reads -----------------------------------------------------------------

  private async ownerState(dependent: KubeObject, ref: OwnerReference): Promise<OwnerState> {
    const r = findKind(ref.apiVersion, ref.kind);
    if (!r) return 'unknown'; // a kind Shoal does not serve: it cannot be checked, so it is not collected
    const namespace = r.namespaced ? dependent.metadata.namespace : undefined;
    if (r.namespaced && namespace === undefined) return 'unknown';
    const cached = this.informers
      .get(resourceName(r))
      ?.informer.get(namespace ? `${namespace}/${ref.name}` : ref.name);
    if (cached && cached.metadata.uid === ref.uid) return classify(cached);
    // Absent (or another object of that name) in the cache: the cache may lag, so ask etcd.
    try {
      const live = await this.registry.get(r, namespace, ref.name);
      return live.metadata.uid === ref.uid ? classify(live) : 'absent';
    } catch (err) {
      if (isApiError(err, 'NotFound')) return 'absent';
      throw err;
    }
  }

  private *dependentsOf(uid: string): Generator<{ r: ResourceInfo; obj: KubeObject }> {
    for (const key of [...(this.dependents.get(uid) ?? [])]) {
      const slash = key.indexOf('/');
      const entry = this.informers.get(key.slice(0, slash));
      const obj = entry?.informer.get(key.slice(slash + 1));
      if (entry && obj) yield { r: entry.r, obj };
    }
  }

  // ---- writes ----------------------------------------------------------------

  private async deleteObject(
    r: ResourceInfo,
    obj: KubeObject,
    policy: 'Background' | 'Foreground',
  ): Promise<void> {
    try {
      await this.registry.delete(r, obj.metadata.namespace, obj.metadata.name ?? '', {
        propagationPolicy: policy,
        preconditions: { uid: obj.metadata.uid! },
      });
      this.log?.debug(
        { resource: resourceName(r), name: obj.metadata.name, policy },
        'deleted a dependent',
      );
    } catch (err) {
      // Gone, or replaced by a namesake that is not ours to judge.
      if (!isApiError(err, 'NotFound', 'Conflict')) throw err;
    }
  }

  /** Drops the references to `uids`, on the version read (a conflict retries with a fresh read). */
  private async removeOwnerRefs(
    r: ResourceInfo,
    obj: KubeObject,
    uids: Set<string>,
  ): Promise<void> {
    const refs = obj.metadata.ownerReferences ?? [];
    const kept = refs.filter((ref) => !uids.has(ref.uid));
    if (kept.length === refs.length) return;
    await this.patchMetadata(r, obj, { ownerReferences: kept.length > 0 ? kept : null });
  }

  private async removeFinalizer(
    r: ResourceInfo,
    obj: KubeObject,
    finalizer: string,
  ): Promise<void> {
    const finalizers = obj.metadata.finalizers ?? [];
    const kept = finalizers.filter((f) => f !== finalizer);
    if (kept.length === finalizers.length) return;
    // The registry removes the object once its last finalizer is gone.
    await this.patchMetadata(r, obj, { finalizers: kept.length > 0 ? kept : null });
  }

  private async patchMetadata(
    r: ResourceInfo,
    obj: KubeObject,
    metadata: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.registry.patch(
        r,
        obj.metadata.namespace,
        obj.metadata.name ?? '',
        'merge',
        // The version read is a precondition: a changed object is looked at again.
        { metadata: { ...metadata, resourceVersion: obj.metadata.resourceVersion } },
        { fieldManager: FIELD_MANAGER },
      );
    } catch (err) {
      if (!isApiError(err, 'NotFound')) throw err;
    }
  }

  // ---- informer events ---------------------------------------------------------

  private added(r: ResourceInfo, obj: KubeObject): void {
    this.index(r, undefined, obj);
    if ((obj.metadata.ownerReferences?.length ?? 0) > 0 || hasGcFinalizer(obj))
      this.queue.add(gcKey(r, obj));
  }

  private updated(r: ResourceInfo, old: KubeObject, obj: KubeObject): void {
    const refsChanged =
      JSON.stringify(old.metadata.ownerReferences) !== JSON.stringify(obj.metadata.ownerReferences);
    if (refsChanged) this.index(r, old, obj);
    // Status churn (pods report often) changes nothing the collector looks at.
    if (
      refsChanged ||
      hasGcFinalizer(obj) ||
      old.metadata.deletionTimestamp !== obj.metadata.deletionTimestamp ||
      JSON.stringify(old.metadata.finalizers) !== JSON.stringify(obj.metadata.finalizers)
    ) {
      this.queue.add(gcKey(r, obj));
    }
    // A foreground owner waits for this one to let go of it.
    if (refsChanged) this.enqueueOwners(old);
  }

  private deleted(r: ResourceInfo, obj: KubeObject): void {
    this.index(r, obj, undefined);
    const uid = obj.metadata.uid;
    if (uid) for (const key of this.dependents.get(uid) ?? []) this.queue.add(key);
    this.enqueueOwners(obj);
  }

  private enqueueOwners(obj: KubeObject): void {
    for (const ref of obj.metadata.ownerReferences ?? []) {
      const r = findKind(ref.apiVersion, ref.kind);
      if (!r) continue;
      const ns = r.namespaced ? obj.metadata.namespace : undefined;
      this.queue.add(`${resourceName(r)}/${ns ? `${ns}/${ref.name}` : ref.name}`);
    }
  }

  /** Moves obj's entries in the owner index from old's owners to now's. */
  private index(r: ResourceInfo, old: KubeObject | undefined, now: KubeObject | undefined): void {
    const key = gcKey(r, (now ?? old)!);
    for (const ref of old?.metadata.ownerReferences ?? []) {
      const set = this.dependents.get(ref.uid);
      set?.delete(key);
      if (set?.size === 0) this.dependents.delete(ref.uid);
    }
    for (const ref of now?.metadata.ownerReferences ?? []) {
      let set = this.dependents.get(ref.uid);
      if (!set) {
        set = new Set();
        this.dependents.set(ref.uid, set);
      }
      set.add(key);
    }
  }
}

function classify(owner: KubeObject): OwnerState {
  return owner.metadata.deletionTimestamp &&
    owner.metadata.finalizers?.includes(FOREGROUND_FINALIZER)
    ? 'waiting'
    : 'present';
}

function hasGcFinalizer(obj: KubeObject): boolean {
  const f = obj.metadata.finalizers ?? [];
  return (
    !!obj.metadata.deletionTimestamp &&
    (f.includes(FOREGROUND_FINALIZER) || f.includes(ORPHAN_FINALIZER))
  );
}
