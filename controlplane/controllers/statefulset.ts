// The StatefulSet controller: pods with stable names <set>-0 … <set>-(N-1),
// each with its own PersistentVolumeClaims <template>-<pod> made from
// volumeClaimTemplates, as Kubernetes' StatefulSetControl does.
//
// reconcile(ns/name): the set's pods by ordinal (owned by controller
// reference) → with OrderedReady (the default), walk ordinals upwards and
// stop at the first that is missing (create its claims, then it), failed
// (delete it, to be recreated), terminating, or not Running and Ready; with
// Parallel, do all of that at once → surplus ordinals are deleted from the
// highest down (OrderedReady: one at a time, only while all below are
// healthy) → RollingUpdate: once every pod is Running and Ready, delete the
// highest-ordinal pod at or above `partition` whose controller-revision-hash
// differs from the template's; it comes back on the next pass with the new
// template → status (replicas, ready, current/updated counts and revisions,
// observedGeneration).
//
// Claims outlive their pods: scale-down keeps them (whenScaled Retain, the
// default), so a pod that comes back gets its old data. With whenScaled
// Delete, the claims of removed ordinals go once their pod has gone; with
// whenDeleted Delete, claims carry an ownerReference to the set and the
// garbage collector removes them with it. Not done: ControllerRevisions
// (pods below `partition` that must be recreated get the new template),
// maxUnavailable > 1, minReadySeconds in the ordering, start ordinals.

import type { Logger } from 'pino';
import { isRecord, type KubeObject, type OwnerReference } from '../api/objects.js';
import type { Registry } from '../api/registry/registry.js';
import { findResource } from '../api/resources.js';
import type { Informer } from './runtime/informer.js';
import { objectKeyOf } from './runtime/informer.js';
import type { EventRecorder } from './runtime/events.js';
import { WorkQueue } from './runtime/workqueue.js';
import { Workers } from './runtime/run.js';
import type { Controller, ControllerDeps } from './types.js';
import {
  InFlightWrites,
  controllerRefOf,
  isApiError,
  isControlledBy,
  isPodAvailable,
  isPodReady,
  newControllerRef,
  podPhase,
} from './owner-refs.js';
import { REVISION_HASH_LABEL, templateHash } from './daemonset.js';

const STATEFULSETS = findResource('apps', 'v1', 'statefulsets')!;
const PODS = findResource('', 'v1', 'pods')!;
const PVCS = findResource('', 'v1', 'persistentvolumeclaims')!;
const FIELD_MANAGER = 'statefulset-controller';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (isRecord(v) ? v : {});

export interface StatefulSetControllerOptions {
  workers?: number;
  now?: () => Date;
}

/** The ordinal of a pod named <set>-<n>, or undefined if the name is not one of the set's. */
export function ordinalOf(setName: string, podName: string): number | undefined {
  if (!podName.startsWith(`${setName}-`)) return undefined;
  const rest = podName.slice(setName.length + 1);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}

/** The revision name of a template: <set>-<hash>, as the ControllerRevision would be named. */
export function revisionOf(sts: KubeObject): string {
  return `${sts.metadata.name ?? ''}-${templateHash(rec(sts.spec).template)}`;
}

function claimTemplates(sts: KubeObject): Rec[] {
  const list = rec(sts.spec).volumeClaimTemplates;
  return Array.isArray(list) ? list.filter(isRecord) : [];
}

function templateName(t: Rec): string {
  const name = rec(t.metadata).name;
  return typeof name === 'string' ? name : '';
}

export function claimName(template: Rec, podName: string): string {
  return `${templateName(template)}-${podName}`;
}

/** The claim a pod of the set gets from one of its volumeClaimTemplates. */
export function claimFor(sts: KubeObject, template: Rec, podName: string): KubeObject {
  const meta = rec(template.metadata);
  const selector = rec(rec(sts.spec).selector).matchLabels;
  const labels: Record<string, string> = {
    ...(isRecord(meta.labels) ? (meta.labels as Record<string, string>) : {}),
    ...(isRecord(selector) ? (selector as Record<string, string>) : {}),
  };
  const claim: KubeObject = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: claimName(template, podName),
      namespace: sts.metadata.namespace ?? 'default',
      labels,
      ...(isRecord(meta.annotations)
        ? { annotations: { ...(meta.annotations as Record<string, string>) } }
        : {}),
    },
    spec: structuredClone(rec(template.spec)),
  };
  const retention = rec(rec(sts.spec).persistentVolumeClaimRetentionPolicy);
  if (retention.whenDeleted === 'Delete') {
    const ref: OwnerReference = { ...newControllerRef(sts), controller: false };
    claim.metadata.ownerReferences = [ref];
  }
  return claim;
}

/** Pod <set>-<ordinal>: the template, stable hostname and subdomain, claims in place of template volumes. */
export function podFor(sts: KubeObject, ordinal: number, revision: string): KubeObject {
  const spec = rec(sts.spec);
  const template = rec(spec.template);
  const meta = rec(template.metadata);
  const name = `${sts.metadata.name ?? ''}-${ordinal}`;
  const podSpec = structuredClone(rec(template.spec));
  podSpec.hostname = name;
  if (typeof spec.serviceName === 'string' && spec.serviceName)
    podSpec.subdomain = spec.serviceName;
  const claims = claimTemplates(sts);
  const volumes = (Array.isArray(podSpec.volumes) ? podSpec.volumes : []).filter(
    (v) => !claims.some((t) => templateName(t) === rec(v).name),
  );
  for (const t of claims) {
    volumes.push({
      name: templateName(t),
      persistentVolumeClaim: { claimName: claimName(t, name) },
    });
  }
  if (volumes.length > 0) podSpec.volumes = volumes;
  const labels: Record<string, string> = {
    ...(isRecord(meta.labels) ? (meta.labels as Record<string, string>) : {}),
    [REVISION_HASH_LABEL]: revision,
    [POD_NAME_LABEL]: name,
    [POD_INDEX_LABEL]: String(ordinal),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: sts.metadata.namespace ?? 'default',
      labels,
      ...(isRecord(meta.annotations)
        ? { annotations: { ...(meta.annotations as Record<string, string>) } }
        : {}),
      ownerReferences: [newControllerRef(sts)],
    },
    spec: podSpec,
  };
}

function isHealthy(pod: KubeObject): boolean {
  return podPhase(pod) === 'Running' && isPodReady(pod) && !pod.metadata.deletionTimestamp;
}

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  private readonly registry: Registry;
  private readonly events: EventRecorder;
  private readonly log: Logger | undefined;
  private readonly sets: Informer;
  private readonly pods: Informer;
  private readonly claims: Informer;
  private readonly queue = new WorkQueue('statefulset');
  private readonly workers = new Workers(this.queue, this);
  private readonly inFlight = new InFlightWrites();
  private readonly now: () => Date;

  constructor(
    deps: ControllerDeps,
    private readonly opts: StatefulSetControllerOptions = {},
  ) {
    this.registry = deps.registry;
    this.events = deps.events;
    this.log = deps.logger;
    this.now = opts.now ?? (() => new Date());
    this.sets = deps.informers.forResource(STATEFULSETS);
    this.pods = deps.informers.forResource(PODS);
    this.claims = deps.informers.forResource(PVCS);
    this.sets.on({
      add: (s) => this.queue.add(objectKeyOf(s)),
      update: (_o, s) => this.queue.add(objectKeyOf(s)),
      delete: (s) => this.queue.add(objectKeyOf(s)),
    });
    this.pods.on({
      add: (p) => this.podChanged(p, p),
      update: (_o, p) => this.podChanged(p, p),
      delete: (p) => this.podChanged(p, undefined),
    });
  }

  async start(): Promise<void> {
    for (const s of this.sets.list()) this.queue.add(objectKeyOf(s));
    this.workers.start({ workers: this.opts.workers ?? 2, logger: this.log });
  }

  async stop(): Promise<void> {
    await this.workers.stop();
  }

  private podChanged(pod: KubeObject, now: KubeObject | undefined): void {
    const cleared = this.inFlight.observe(objectKeyOf(pod), now);
    if (cleared) this.queue.add(cleared);
    const ref = controllerRefOf(pod);
    if (ref?.kind !== 'StatefulSet') return;
    this.queue.add(`${pod.metadata.namespace}/${ref.name}`);
  }

  async reconcile(key: string): Promise<void> {
    const sts = this.sets.get(key);
    if (!sts) {
      this.inFlight.forget(key);
      return;
    }
    if (sts.metadata.deletionTimestamp) return;
    const name = sts.metadata.name ?? '';
    const spec = rec(sts.spec);
    const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const parallel = spec.podManagementPolicy === 'Parallel';
    const updateRevision = revisionOf(sts);
    const owned = this.pods.list(
      (p) => p.metadata.namespace === sts.metadata.namespace && isControlledBy(p, sts.metadata.uid),
    );
    const byOrdinal = new Map<number, KubeObject>();
    const strays: KubeObject[] = [];
    for (const p of owned) {
      const ord = ordinalOf(name, p.metadata.name ?? '');
      if (ord === undefined) strays.push(p);
      else byOrdinal.set(ord, p);
    }

    if (this.inFlight.satisfied(key)) {
      await this.converge(key, sts, replicas, parallel, updateRevision, byOrdinal, strays);
    }
    await this.updateStatus(sts, replicas, updateRevision, byOrdinal);
  }

  private async converge(
    key: string,
    sts: KubeObject,
    replicas: number,
    parallel: boolean,
    updateRevision: string,
    byOrdinal: Map<number, KubeObject>,
    strays: KubeObject[],
  ): Promise<void> {
    for (const p of strays) if (!p.metadata.deletionTimestamp) await this.deletePod(key, sts, p);

    // Ordinals in range: create what is missing, replace what failed.
    let blocked = false;
    for (let i = 0; i < replicas; i++) {
      const pod = byOrdinal.get(i);
      if (!pod) {
        await this.createPod(key, sts, i, updateRevision);
        if (!parallel) return;
        blocked = true;
        continue;
      }
      if (podPhase(pod) === 'Failed' && !pod.metadata.deletionTimestamp) {
        await this.deletePod(key, sts, pod);
        if (!parallel) return;
        blocked = true;
        continue;
      }
      await this.ensureClaims(sts, pod.metadata.name ?? '');
      if (!isHealthy(pod)) {
        // OrderedReady: <set>-(i+1) waits for <set>-i to be Running and Ready.
        if (!parallel) return;
        blocked = true;
      }
    }

    // Surplus ordinals go from the highest down.
    const condemned = [...byOrdinal.keys()].filter((i) => i >= replicas).sort((a, b) => b - a);
    for (const i of condemned) {
      const pod = byOrdinal.get(i)!;
      if (pod.metadata.deletionTimestamp) {
        if (!parallel) return;
        continue;
      }
      if (!parallel && blocked) return;
      await this.deletePod(key, sts, pod);
      if (!parallel) return;
    }
    await this.deleteScaledClaims(sts, replicas, byOrdinal);
    if (blocked || condemned.length > 0) return;

    // RollingUpdate, highest ordinal first, one pod at a time, never below the partition.
    const strategy = rec(rec(sts.spec).updateStrategy);
    if ((strategy.type ?? 'RollingUpdate') !== 'RollingUpdate') return;
    const partition = Number(rec(strategy.rollingUpdate).partition ?? 0) || 0;
    for (let i = replicas - 1; i >= partition; i--) {
      const pod = byOrdinal.get(i);
      if (!pod) return;
      if (pod.metadata.labels?.[REVISION_HASH_LABEL] !== updateRevision) {
        await this.deletePod(key, sts, pod);
        return;
      }
      if (!isHealthy(pod)) return;
    }
  }

  /** Creates the pod's missing claims; a claim that exists (kept from before) is reused as is. */
  private async ensureClaims(sts: KubeObject, podName: string): Promise<void> {
    for (const t of claimTemplates(sts)) {
      const name = claimName(t, podName);
      if (this.claims.get(`${sts.metadata.namespace}/${name}`)) continue;
      try {
        await this.registry.create(PVCS, sts.metadata.namespace, claimFor(sts, t, podName), {
          fieldManager: FIELD_MANAGER,
        });
        this.events.event(
          sts,
          'Normal',
          'SuccessfulCreate',
          `create Claim ${name} Pod ${podName} in StatefulSet ${sts.metadata.name} success`,
        );
      } catch (err) {
        if (isApiError(err, 'AlreadyExists')) continue;
        this.events.event(
          sts,
          'Warning',
          'FailedCreate',
          `create Claim ${name} for Pod ${podName} in StatefulSet ${sts.metadata.name} failed error: ${errorMessage(err)}`,
        );
        throw err;
      }
    }
  }

  private async createPod(
    key: string,
    sts: KubeObject,
    ordinal: number,
    revision: string,
  ): Promise<void> {
    const pod = podFor(sts, ordinal, revision);
    const podName = pod.metadata.name ?? '';
    await this.ensureClaims(sts, podName);
    try {
      const created = await this.registry.create(PODS, sts.metadata.namespace, pod, {
        fieldManager: FIELD_MANAGER,
      });
      const podKey = objectKeyOf(created);
      this.inFlight.expect(key, podKey, 'create', this.pods.get(podKey) !== undefined);
      this.events.event(
        sts,
        'Normal',
        'SuccessfulCreate',
        `create Pod ${podName} in StatefulSet ${sts.metadata.name} successful`,
      );
    } catch (err) {
      // The old pod of that name is still going away: the next pass creates it.
      if (isApiError(err, 'AlreadyExists')) return;
      this.events.event(
        sts,
        'Warning',
        'FailedCreate',
        `create Pod ${podName} in StatefulSet ${sts.metadata.name} failed error: ${errorMessage(err)}`,
      );
      throw err;
    }
  }

  private async deletePod(key: string, sts: KubeObject, pod: KubeObject): Promise<void> {
    const podKey = objectKeyOf(pod);
    try {
      await this.registry.delete(PODS, pod.metadata.namespace, pod.metadata.name ?? '', {
        preconditions: { uid: pod.metadata.uid! },
      });
      const cached = this.pods.get(podKey);
      this.inFlight.expect(key, podKey, 'delete', !cached || !!cached.metadata.deletionTimestamp);
      this.events.event(
        sts,
        'Normal',
        'SuccessfulDelete',
        `delete Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} successful`,
      );
    } catch (err) {
      if (isApiError(err, 'NotFound', 'Conflict')) return;
      throw err;
    }
  }

  /** whenScaled Delete: the claims of ordinals beyond replicas, once their pod is gone. */
  private async deleteScaledClaims(
    sts: KubeObject,
    replicas: number,
    byOrdinal: Map<number, KubeObject>,
  ): Promise<void> {
    const retention = rec(rec(sts.spec).persistentVolumeClaimRetentionPolicy);
    if (retention.whenScaled !== 'Delete') return;
    const name = sts.metadata.name ?? '';
    for (const t of claimTemplates(sts)) {
      const prefix = `${templateName(t)}-`;
      for (const c of this.claims.list((c) => c.metadata.namespace === sts.metadata.namespace)) {
        const claim = c.metadata.name ?? '';
        if (!claim.startsWith(prefix) || c.metadata.deletionTimestamp) continue;
        const ord = ordinalOf(name, claim.slice(prefix.length));
        if (ord === undefined || ord < replicas || byOrdinal.has(ord)) continue;
        try {
          await this.registry.delete(PVCS, c.metadata.namespace, claim, {
            preconditions: { uid: c.metadata.uid! },
          });
        } catch (err) {
          if (!isApiError(err, 'NotFound', 'Conflict')) throw err;
        }
      }
    }
  }

  private async updateStatus(
    sts: KubeObject,
    replicas: number,
    updateRevision: string,
    byOrdinal: Map<number, KubeObject>,
  ): Promise<void> {
    const old = rec(sts.status);
    const spec = rec(sts.spec);
    const minReady = typeof spec.minReadySeconds === 'number' ? spec.minReadySeconds : 0;
    const now = this.now();
    const pods = [...byOrdinal.values()];
    const currentRevision =
      typeof old.currentRevision === 'string' && old.currentRevision
        ? old.currentRevision
        : updateRevision;
    let ready = 0;
    let available = 0;
    let current = 0;
    let updated = 0;
    for (const p of pods) {
      if (isPodReady(p)) ready++;
      if (isPodAvailable(p, minReady, now)) available++;
      const rev = p.metadata.labels?.[REVISION_HASH_LABEL];
      if (rev === currentRevision) current++;
      if (rev === updateRevision) updated++;
    }
    // The update is complete when every wanted pod runs the new template: it becomes current.
    const complete =
      updated === replicas &&
      pods.length === replicas &&
      pods.every((p) => !p.metadata.deletionTimestamp);
    const status: Rec = {
      ...old,
      observedGeneration: sts.metadata.generation ?? 0,
      replicas: pods.length,
      readyReplicas: ready,
      availableReplicas: available,
      currentReplicas: complete ? updated : current,
      updatedReplicas: updated,
      currentRevision: complete ? updateRevision : currentRevision,
      updateRevision,
      collisionCount: typeof old.collisionCount === 'number' ? old.collisionCount : 0,
    };
    if (JSON.stringify(status) === JSON.stringify(old)) return;
    try {
      await this.registry.update(
        STATEFULSETS,
        sts.metadata.namespace,
        sts.metadata.name ?? '',
        { ...sts, status },
        { subresource: 'status', fieldManager: FIELD_MANAGER },
      );
    } catch (err) {
      // A newer version is in the cache's way: its own event queues another pass.
      if (!isApiError(err, 'Conflict', 'NotFound')) throw err;
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
