// The ReplicaSet controller (kube's pkg/controller/replicaset): keeps the
// number of active pods a ReplicaSet controls equal to spec.replicas.
// reconcile(key) claims pods (adopting matching orphans, releasing owned
// pods whose labels stopped matching), creates the missing ones in
// slow-start batches or deletes the surplus, worst pods first, and writes
// status when it changed. Expectations keep it from acting twice on a cache
// that has not yet seen its own creates and deletes.

import type { Logger } from 'pino';
import type { KubeObject } from '../api/objects.js';
import { ApiError } from '../api/status.js';
import { findResource } from '../api/resources.js';
import type { Registry } from '../api/registry/registry.js';
import type { EventRecorder } from './runtime/events.js';
import type { Informer } from './runtime/informer.js';
import { Workers } from './runtime/run.js';
import { WorkQueue } from './runtime/workqueue.js';
import type { Controller, ControllerDeps } from './types.js';
import { ControllerExpectations } from './expectations.js';
import {
  BY_CONTROLLER,
  claimCandidates,
  controllerIndex,
  adoptionPatch,
  claimObjects,
  controllerRef,
  filterActivePods,
  isPodAvailable,
  isPodReady,
  keyOf,
  newControllerRef,
  num,
  podFromTemplate,
  podsToDelete,
  rec,
  releasePatch,
  rfc3339,
  selectorOf,
  selects,
  slowStartBatch,
  stringMap,
} from './pod-control.js';

const REPLICASETS = findResource('apps', 'v1', 'replicasets')!;
const PODS = findResource('', 'v1', 'pods')!;
const FIELD_MANAGER = 'replicaset-controller';
/** At most this many creates or deletes per reconcile, as kube's --replicaset burst. */
const BURST_REPLICAS = 500;

export interface ReplicaSetControllerOptions {
  workers?: number;
  now?: () => Date;
}

type Rec = Record<string, unknown>;

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  /** Public so tests can see what a reconcile is still waiting for. */
  readonly expectations = new ControllerExpectations(() => this.now().getTime());
  private readonly queue = new WorkQueue('replicaset');
  private readonly workers = new Workers(this.queue, this);
  private readonly registry: Registry;
  private readonly events: EventRecorder;
  private readonly log: Logger | undefined;
  private readonly rsInformer: Informer;
  private readonly podInformer: Informer;
  private readonly now: () => Date;
  private readonly workerCount: number;

  constructor(deps: ControllerDeps, opts: ReplicaSetControllerOptions = {}) {
    this.registry = deps.registry;
    this.events = deps.events;
    this.log = deps.logger;
    this.now = opts.now ?? (() => new Date());
    this.workerCount = opts.workers ?? 2;
    this.rsInformer = deps.informers.forResource(REPLICASETS);
    this.podInformer = deps.informers.forResource(PODS);
    this.podInformer.addIndex(BY_CONTROLLER, controllerIndex);
    this.rsInformer.on({
      add: (rs) => this.queue.add(keyOf(rs)),
      update: (_old, rs) => this.queue.add(keyOf(rs)),
      delete: (rs) => {
        this.expectations.delete(keyOf(rs));
        this.queue.add(keyOf(rs));
      },
    });
    this.podInformer.on({
      add: (pod) => this.podAdded(pod),
      update: (old, pod) => this.podUpdated(old, pod),
      delete: (pod) => this.podDeleted(pod),
    });
  }

  start(): Promise<void> {
    this.workers.start({ workers: this.workerCount, logger: this.log });
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.workers.stop();
  }

  /** Converges one ReplicaSet (`namespace/name`); throws to be retried with backoff. */
  async reconcile(key: string): Promise<void> {
    const rs = this.rsInformer.get(key);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const needsSync = this.expectations.satisfied(key);
    const active = filterActivePods(claimCandidates(this.podInformer, rs));
    const pods = await this.claimPods(rs, active);

    let manageError: unknown;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(key, rs, pods);
      } catch (err) {
        manageError = err;
      }
    }
    const status = this.calculateStatus(rs, pods, manageError);
    const written = await this.writeStatus(rs, status);

    const spec = rec(written.spec);
    const minReady = num(spec.minReadySeconds);
    const replicas = num(spec.replicas, 1);
    const st = rec(written.status);
    // Pods that are ready but not yet available become so by the clock alone: look again then.
    if (
      manageError === undefined &&
      minReady > 0 &&
      num(st.readyReplicas) === replicas &&
      num(st.availableReplicas) !== replicas
    ) {
      this.queue.addAfter(key, minReady * 1000);
    }
    if (manageError !== undefined) throw asError(manageError);
  }

  // ---- claiming ----

  private claimPods(rs: KubeObject, pods: KubeObject[]): Promise<KubeObject[]> {
    const ns = rs.metadata.namespace;
    const ref = newControllerRef(rs, 'apps/v1', 'ReplicaSet');
    return claimObjects(pods, {
      owner: rs,
      selector: selectorOf(rs.spec),
      canAdopt: async () => {
        // The cache may lag: adopt only for a ReplicaSet that really still lives.
        try {
          const fresh = await this.registry.get(REPLICASETS, ns, rs.metadata.name ?? '');
          return fresh.metadata.uid === rs.metadata.uid && !fresh.metadata.deletionTimestamp;
        } catch (err) {
          if (err instanceof ApiError && err.reason === 'NotFound') return false;
          throw err;
        }
      },
      adopt: (pod) => this.patchPod(pod, adoptionPatch(pod, ref)),
      release: async (pod) => {
        await this.patchPod(pod, releasePatch(pod, rs.metadata.uid ?? ''));
      },
    });
  }

  /** A merge patch of a pod's ownerReferences; undefined when the pod is gone or refuses it. */
  private async patchPod(pod: KubeObject, patch: Rec): Promise<KubeObject | undefined> {
    try {
      const { object } = await this.registry.patch(
        PODS,
        pod.metadata.namespace,
        pod.metadata.name ?? '',
        'merge',
        patch,
        { fieldManager: FIELD_MANAGER },
      );
      return object;
    } catch (err) {
      if (err instanceof ApiError && (err.reason === 'NotFound' || err.reason === 'Invalid'))
        return undefined;
      throw err;
    }
  }

  // ---- creating and deleting ----

  private async manageReplicas(key: string, rs: KubeObject, pods: KubeObject[]): Promise<void> {
    const wanted = num(rec(rs.spec).replicas, 1);
    const diff = pods.length - wanted;
    if (diff < 0) {
      const n = Math.min(-diff, BURST_REPLICAS);
      // Expect before creating: the informer may report a create before the call returns.
      this.expectations.expectCreations(key, n);
      const { successes, error } = await slowStartBatch(n, 1, () => this.createPod(rs));
      // Creates that failed or never started will not be observed.
      for (let i = successes; i < n; i++) this.expectations.creationObserved(key);
      if (error !== undefined) throw asError(error);
      return;
    }
    if (diff > 0) {
      const n = Math.min(diff, BURST_REPLICAS);
      const victims = podsToDelete(pods, this.relatedPods(rs), n);
      this.expectations.expectDeletions(key, victims.map(keyOf));
      const results = await Promise.allSettled(victims.map((pod) => this.deletePod(rs, pod)));
      results.forEach((r, i) => {
        const pod = victims[i];
        // A delete that failed, or found the pod gone, will not be observed: stop waiting for it.
        if (pod && (r.status === 'rejected' || r.value === 'gone'))
          this.expectations.deletionObserved(key, keyOf(pod));
      });
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw asError(failed.reason);
    }
  }

  private async createPod(rs: KubeObject): Promise<void> {
    const pod = podFromTemplate(
      rec(rs.spec).template,
      rs,
      newControllerRef(rs, 'apps/v1', 'ReplicaSet'),
    );
    try {
      // podFromTemplate built it for this create alone: no copy needed.
      const created = await this.registry.create(PODS, rs.metadata.namespace, pod, {
        fieldManager: FIELD_MANAGER,
        bodyOwned: true,
      });
      this.events.event(
        rs,
        'Normal',
        'SuccessfulCreate',
        `Created pod: ${created.metadata.name ?? ''}`,
      );
    } catch (err) {
      this.events.event(rs, 'Warning', 'FailedCreate', `Error creating: ${messageOf(err)}`);
      throw err;
    }
  }

  private async deletePod(rs: KubeObject, pod: KubeObject): Promise<'deleted' | 'gone'> {
    const name = pod.metadata.name ?? '';
    try {
      await this.registry.delete(PODS, pod.metadata.namespace, name, {
        preconditions: { uid: pod.metadata.uid ?? '' },
      });
      this.events.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
      return 'deleted';
    } catch (err) {
      // Already gone is what we wanted.
      if (err instanceof ApiError && err.reason === 'NotFound') return 'gone';
      this.events.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${messageOf(err)}`);
      throw err;
    }
  }

  /** Pods of every ReplicaSet with the same controller (a Deployment's siblings), for ranking. */
  private relatedPods(rs: KubeObject): KubeObject[] {
    const owner = controllerRef(rs);
    const ns = rs.metadata.namespace;
    const siblings = new Set<string>();
    if (owner) {
      for (const other of this.rsInformer.list((o) => o.metadata.namespace === ns)) {
        if (controllerRef(other)?.uid === owner.uid && other.metadata.uid)
          siblings.add(other.metadata.uid);
      }
    }
    if (rs.metadata.uid) siblings.add(rs.metadata.uid);
    return [...siblings].flatMap((uid) => this.podInformer.byIndex(BY_CONTROLLER, uid));
  }

  // ---- status ----

  private calculateStatus(rs: KubeObject, pods: KubeObject[], manageError: unknown): Rec {
    const spec = rec(rs.spec);
    const templateLabels = stringMap(rec(rec(spec.template).metadata).labels);
    const minReady = num(spec.minReadySeconds);
    const now = this.now();
    let fullyLabeled = 0;
    let ready = 0;
    let available = 0;
    for (const pod of pods) {
      const labels = pod.metadata.labels ?? {};
      if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) fullyLabeled++;
      if (isPodReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReady, now)) available++;
      }
    }
    const old = rec(rs.status);
    let conditions = Array.isArray(old.conditions) ? old.conditions.filter(isRec) : [];
    const failure = conditions.find((c) => c.type === 'ReplicaFailure');
    if (manageError !== undefined && !failure) {
      const wanted = num(spec.replicas, 1);
      conditions = [
        ...conditions,
        {
          type: 'ReplicaFailure',
          status: 'True',
          lastTransitionTime: rfc3339(now),
          reason: pods.length < wanted ? 'FailedCreate' : 'FailedDelete',
          message: messageOf(manageError),
        },
      ];
    } else if (manageError === undefined && failure) {
      conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
    }
    const status: Rec = {
      replicas: pods.length,
      fullyLabeledReplicas: fullyLabeled,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation ?? 0,
    };
    if (conditions.length > 0) status.conditions = conditions;
    return status;
  }

  /** Writes status through the status subresource when it differs; returns the ReplicaSet as it now is. */
  private async writeStatus(rs: KubeObject, status: Rec): Promise<KubeObject> {
    const old = rec(rs.status);
    const same =
      ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'].every(
        (f) => num(old[f]) === num(status[f]),
      ) &&
      num(old.observedGeneration) === num(status.observedGeneration) &&
      JSON.stringify(old.conditions ?? []) === JSON.stringify(status.conditions ?? []);
    if (same) return rs;
    const write = (target: KubeObject): Promise<KubeObject> =>
      this.registry.update(
        REPLICASETS,
        target.metadata.namespace,
        target.metadata.name ?? '',
        { ...target, status },
        { subresource: 'status', fieldManager: FIELD_MANAGER },
      );
    try {
      return await write(rs);
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'Conflict')) throw err;
      // The cache was behind (often our own last write): once more on the live object, as kube does.
      const live = await this.registry.get(
        REPLICASETS,
        rs.metadata.namespace,
        rs.metadata.name ?? '',
      );
      if (live.metadata.uid !== rs.metadata.uid) return live;
      return write(live);
    }
  }

  // ---- informer handlers ----

  /** The ReplicaSet a controller reference points at, if the cache has that very one. */
  private resolve(namespace: string | undefined, pod: KubeObject): KubeObject | undefined {
    const ref = controllerRef(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return undefined;
    const rs = this.rsInformer.get(`${namespace ?? ''}/${ref.name}`);
    return rs?.metadata.uid === ref.uid ? rs : undefined;
  }

  /** Every ReplicaSet in the pod's namespace whose selector takes it: who might adopt an orphan. */
  private selectingReplicaSets(pod: KubeObject): KubeObject[] {
    const ns = pod.metadata.namespace;
    return this.rsInformer.list(
      (rs) => rs.metadata.namespace === ns && selects(selectorOf(rs.spec), pod.metadata.labels),
    );
  }

  private podAdded(pod: KubeObject): void {
    if (pod.metadata.deletionTimestamp) {
      // Seen for the first time already terminating (e.g. after a relist): a delete for us.
      this.podDeleted(pod);
      return;
    }
    if (controllerRef(pod)) {
      const rs = this.resolve(pod.metadata.namespace, pod);
      if (!rs) return;
      this.expectations.creationObserved(keyOf(rs));
      this.queue.add(keyOf(rs));
      return;
    }
    // An orphan: no one waits for it, but a matching ReplicaSet may adopt it.
    for (const rs of this.selectingReplicaSets(pod)) this.queue.add(keyOf(rs));
  }

  private podUpdated(old: KubeObject, pod: KubeObject): void {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    const labelsChanged =
      JSON.stringify(old.metadata.labels) !== JSON.stringify(pod.metadata.labels);
    if (pod.metadata.deletionTimestamp) {
      // A graceful delete began: for the controller the pod is gone now, and its replacement due.
      this.podDeleted(pod);
      if (labelsChanged) this.podDeleted(old);
      return;
    }
    const oldRef = controllerRef(old);
    const curRef = controllerRef(pod);
    const refChanged = oldRef?.uid !== curRef?.uid;
    if (refChanged && oldRef) {
      const previous = this.resolve(old.metadata.namespace, old);
      if (previous) this.queue.add(keyOf(previous));
    }
    if (curRef) {
      const rs = this.resolve(pod.metadata.namespace, pod);
      if (!rs) return;
      this.queue.add(keyOf(rs));
      // Ready now, available after minReadySeconds: count it then.
      const minReady = num(rec(rs.spec).minReadySeconds);
      if (!isPodReady(old) && isPodReady(pod) && minReady > 0)
        this.queue.addAfter(keyOf(rs), minReady * 1000 + 1000);
      return;
    }
    if (labelsChanged || refChanged) {
      for (const rs of this.selectingReplicaSets(pod)) this.queue.add(keyOf(rs));
    }
  }

  private podDeleted(pod: KubeObject): void {
    const rs = this.resolve(pod.metadata.namespace, pod);
    if (!rs) return;
    this.expectations.deletionObserved(keyOf(rs), keyOf(pod));
    this.queue.add(keyOf(rs));
  }
}

function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
