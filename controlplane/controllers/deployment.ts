// The Deployment controller (kube's pkg/controller/deployment): turns a
// Deployment into ReplicaSets named `<deployment>-<pod-template-hash>`, one
// per template it has run, and moves replicas from the old ones to the new
// one — RollingUpdate within maxSurge/maxUnavailable, or Recreate (old to
// zero, wait for their pods to go, then the new one). It keeps the
// `deployment.kubernetes.io/revision` annotations that `kubectl rollout
// history/undo` read (undo is client-side: kubectl puts an old ReplicaSet's
// template back into the Deployment, and the matching ReplicaSet becomes
// the new one again with the next revision), prunes zero-sized old
// ReplicaSets beyond revisionHistoryLimit, scales proportionally when the
// Deployment is resized mid-rollout or paused, and writes status and the
// Available/Progressing conditions that `kubectl rollout status` reads.
// The rollout arithmetic follows kube's sync.go, rolling.go, recreate.go,
// progress.go and deployment util function by function, so its behaviour
// (rounding, ordering, messages) is kube's.

import type { Logger } from 'pino';
import type { KubeObject } from '../api/objects.js';
import { ApiError } from '../api/status.js';
import { findResource } from '../api/resources.js';
import type { Registry } from '../api/registry/registry.js';
import type { LabelSelectorRequirement } from '../api/selectors.js';
import type { EventRecorder } from './runtime/events.js';
import type { Informer } from './runtime/informer.js';
import { Workers } from './runtime/run.js';
import { WorkQueue } from './runtime/workqueue.js';
import type { Controller, ControllerDeps } from './types.js';
import {
  POD_TEMPLATE_HASH_LABEL,
  adoptionPatch,
  claimObjects,
  controllerRef,
  equalIgnoreHash,
  keyOf,
  newControllerRef,
  num,
  podPhase,
  podTemplateHash,
  rec,
  releasePatch,
  rfc3339,
  selectorOf,
  selects,
  semanticEqual,
  stringMap,
  timeOf,
} from './pod-control.js';

const DEPLOYMENTS = findResource('apps', 'v1', 'deployments')!;
const REPLICASETS = findResource('apps', 'v1', 'replicasets')!;
const PODS = findResource('', 'v1', 'pods')!;
const FIELD_MANAGER = 'deployment-controller';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
/** Deployment annotations that are not copied onto its ReplicaSets. */
const SKIP_COPY = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);
/** Long enough for ~100 revisions; older ones fall off the front. */
const MAX_REV_HISTORY_CHARS = 2000;
/** progressDeadlineSeconds at this value means "no deadline" (math.MaxInt32). */
const NO_DEADLINE = 2147483647;

/** The condition reasons kube's deployment controller writes. */
export const DeploymentReason = {
  NewReplicaSetCreated: 'NewReplicaSetCreated',
  FoundNewReplicaSet: 'FoundNewReplicaSet',
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  NewReplicaSetAvailable: 'NewReplicaSetAvailable',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  FailedReplicaSetCreate: 'ReplicaSetCreateError',
  DeploymentPaused: 'DeploymentPaused',
  DeploymentResumed: 'DeploymentResumed',
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

type Rec = Record<string, unknown>;

export interface DeploymentCondition {
  type: 'Available' | 'Progressing' | 'ReplicaFailure';
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface DeploymentControllerOptions {
  workers?: number;
  now?: () => Date;
}

/** One reconcile's view: the working copy of the Deployment and its ReplicaSets, kept current after each write. */
interface Sync {
  key: string;
  d: KubeObject;
  rsList: KubeObject[];
}

// ---------------------------------------------------------------------------
// Spec arithmetic (deployment util)

/**
 * intstr.GetScaledValueFromIntOrPercent: an int as is, "N%" of total rounded
 * up or down. Anything else is invalid (validation rejects it first).
 */
export function scaledValue(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const m = /^(\d+)%$/.exec(v);
    if (m) {
      const x = (Number(m[1]) * total) / 100;
      return roundUp ? Math.ceil(x) : Math.floor(x);
    }
    if (/^\d+$/.test(v)) return Number(v);
  }
  throw new Error(`invalid value for IntOrString: ${JSON.stringify(v)}`);
}

/** ResolveFenceposts: surge rounds up, unavailable down; both zero would deadlock, so unavailable becomes 1. */
export function resolveFenceposts(
  maxSurge: unknown,
  maxUnavailable: unknown,
  desired: number,
): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge ?? '25%', desired, true);
  let unavailable = scaledValue(maxUnavailable ?? '25%', desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

const specOf = (o: KubeObject): Rec => rec(o.spec);
const statusOf = (o: KubeObject): Rec => rec(o.status);
const replicasOf = (o: KubeObject): number => num(specOf(o).replicas, 1);
const isRolling = (d: KubeObject): boolean => rec(specOf(d).strategy).type !== 'Recreate';
const isPaused = (d: KubeObject): boolean => specOf(d).paused === true;
const minReadyOf = (o: KubeObject): number => num(specOf(o).minReadySeconds);

function fenceposts(d: KubeObject): { surge: number; unavailable: number } {
  const ru = rec(rec(specOf(d).strategy).rollingUpdate);
  return resolveFenceposts(ru.maxSurge, ru.maxUnavailable, replicasOf(d));
}

export function maxSurge(d: KubeObject): number {
  return isRolling(d) ? fenceposts(d).surge : 0;
}

export function maxUnavailable(d: KubeObject): number {
  const replicas = replicasOf(d);
  if (!isRolling(d) || replicas === 0) return 0;
  return Math.min(fenceposts(d).unavailable, replicas);
}

function progressDeadline(d: KubeObject): number | undefined {
  const v = specOf(d).progressDeadlineSeconds;
  return typeof v === 'number' && v !== NO_DEADLINE ? v : undefined;
}

export function revisionOf(o: KubeObject): number {
  const v = o.metadata.annotations?.[REVISION_ANNOTATION];
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) ? n : 0;
}

const sum = (list: readonly (KubeObject | undefined)[], f: (o: KubeObject) => number): number =>
  list.reduce((acc, o) => acc + (o ? f(o) : 0), 0);
const specReplicas = (list: readonly (KubeObject | undefined)[]): number => sum(list, replicasOf);
const actualReplicas = (list: readonly (KubeObject | undefined)[]): number =>
  sum(list, (o) => num(statusOf(o).replicas));
const availableReplicas = (list: readonly (KubeObject | undefined)[]): number =>
  sum(list, (o) => num(statusOf(o).availableReplicas));
const readyReplicas = (list: readonly (KubeObject | undefined)[]): number =>
  sum(list, (o) => num(statusOf(o).readyReplicas));

const activeRSs = (list: readonly (KubeObject | undefined)[]): KubeObject[] =>
  list.filter((o): o is KubeObject => o !== undefined && replicasOf(o) > 0);

function byCreation(a: KubeObject, b: KubeObject): number {
  const t = timeOf(a.metadata.creationTimestamp) - timeOf(b.metadata.creationTimestamp);
  if (t !== 0) return t;
  return (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}

function byRevision(a: KubeObject, b: KubeObject): number {
  return revisionOf(a) - revisionOf(b) || byCreation(a, b);
}

/** The ReplicaSet whose template is the Deployment's; the oldest if several (FindNewReplicaSet). */
export function findNewReplicaSet(
  d: KubeObject,
  rsList: readonly KubeObject[],
): KubeObject | undefined {
  return [...rsList]
    .sort(byCreation)
    .find((rs) => equalIgnoreHash(specOf(rs).template, specOf(d).template));
}

/** How big the new ReplicaSet may be now (NewRSNewReplicas). */
function newRSNewReplicas(d: KubeObject, allRSs: readonly KubeObject[], newRS: KubeObject): number {
  if (!isRolling(d)) return replicasOf(d);
  const current = specReplicas(allRSs);
  const maxTotal = replicasOf(d) + maxSurge(d);
  if (current >= maxTotal) return replicasOf(newRS);
  const up = Math.min(maxTotal - current, replicasOf(d) - replicasOf(newRS));
  return replicasOf(newRS) + up;
}

/** Done: every replica updated and available, nothing old left, the latest spec observed. */
function deploymentComplete(d: KubeObject, status: Rec): boolean {
  const replicas = replicasOf(d);
  return (
    num(status.updatedReplicas) === replicas &&
    num(status.replicas) === replicas &&
    num(status.availableReplicas) === replicas &&
    num(status.observedGeneration) >= (d.metadata.generation ?? 0)
  );
}

/** Any forward movement since the last recorded status. */
function deploymentProgressing(d: KubeObject, status: Rec): boolean {
  const old = statusOf(d);
  const oldOld = num(old.replicas) - num(old.updatedReplicas);
  const newOld = num(status.replicas) - num(status.updatedReplicas);
  return (
    num(status.updatedReplicas) > num(old.updatedReplicas) ||
    newOld < oldOld ||
    num(status.readyReplicas) > num(old.readyReplicas) ||
    num(status.availableReplicas) > num(old.availableReplicas)
  );
}

// ---------------------------------------------------------------------------
// Conditions

function conditionsOf(status: Rec): DeploymentCondition[] {
  const list = status.conditions;
  return Array.isArray(list) ? (list.filter((c) => rec(c).type) as DeploymentCondition[]) : [];
}

export function getCondition(status: Rec, type: string): DeploymentCondition | undefined {
  return conditionsOf(status).find((c) => c.type === type);
}

function newCondition(
  type: DeploymentCondition['type'],
  status: DeploymentCondition['status'],
  reason: string,
  message: string,
  now: Date,
): DeploymentCondition {
  const t = rfc3339(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** SetDeploymentCondition: same status and reason changes nothing; same status keeps the transition time. */
function setCondition(status: Rec, cond: DeploymentCondition): void {
  const current = getCondition(status, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return;
  const next = { ...cond };
  if (current && current.status === cond.status)
    next.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...conditionsOf(status).filter((c) => c.type !== cond.type), next];
}

function removeCondition(status: Rec, type: string): void {
  status.conditions = conditionsOf(status).filter((c) => c.type !== type);
}

// ---------------------------------------------------------------------------
// Annotations

function annotationsOf(o: KubeObject): Record<string, string> {
  o.metadata.annotations ??= {};
  return o.metadata.annotations;
}

function copyDeploymentAnnotations(d: KubeObject, rs: KubeObject): boolean {
  let changed = false;
  const target = annotationsOf(rs);
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (SKIP_COPY.has(k) || target[k] === v) continue;
    target[k] = v;
    changed = true;
  }
  return changed;
}

function setReplicasAnnotations(rs: KubeObject, desired: number, max: number): boolean {
  const a = annotationsOf(rs);
  let changed = false;
  if (a[DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    a[DESIRED_REPLICAS_ANNOTATION] = String(desired);
    changed = true;
  }
  if (a[MAX_REPLICAS_ANNOTATION] !== String(max)) {
    a[MAX_REPLICAS_ANNOTATION] = String(max);
    changed = true;
  }
  return changed;
}

function replicasAnnotationsNeedUpdate(rs: KubeObject, desired: number, max: number): boolean {
  const a = rs.metadata.annotations ?? {};
  return (
    a[DESIRED_REPLICAS_ANNOTATION] !== String(desired) || a[MAX_REPLICAS_ANNOTATION] !== String(max)
  );
}

/**
 * SetNewReplicaSetAnnotations: copies the Deployment's annotations, raises
 * the revision to newRevision if it is lower (keeping the ones it had in
 * revision-history: that is a rollback to this ReplicaSet), and for a
 * ReplicaSet about to be created, the desired/max replicas.
 */
function setNewReplicaSetAnnotations(
  d: KubeObject,
  rs: KubeObject,
  newRevision: number,
  exists: boolean,
): boolean {
  let changed = copyDeploymentAnnotations(d, rs);
  const a = annotationsOf(rs);
  const oldRevision = a[REVISION_ANNOTATION];
  let oldInt = 0;
  if (oldRevision !== undefined && oldRevision !== '') {
    oldInt = Number(oldRevision);
    if (!Number.isInteger(oldInt)) return false;
  }
  if (oldInt < newRevision) {
    a[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    if (oldRevision !== undefined) {
      const history = a[REVISION_HISTORY_ANNOTATION] ?? '';
      const entries = history === '' ? [] : history.split(',');
      entries.push(oldRevision);
      while (entries.join(',').length > MAX_REV_HISTORY_CHARS && entries.length > 1)
        entries.shift();
      a[REVISION_HISTORY_ANNOTATION] = entries.join(',');
    }
  }
  if (!exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d)))
    changed = true;
  return changed;
}

// ---------------------------------------------------------------------------
// The controller

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  private readonly queue = new WorkQueue('deployment');
  private readonly workers = new Workers(this.queue, this);
  private readonly registry: Registry;
  private readonly events: EventRecorder;
  private readonly log: Logger | undefined;
  private readonly dInformer: Informer;
  private readonly rsInformer: Informer;
  private readonly podInformer: Informer;
  private readonly now: () => Date;
  private readonly workerCount: number;

  constructor(deps: ControllerDeps, opts: DeploymentControllerOptions = {}) {
    this.registry = deps.registry;
    this.events = deps.events;
    this.log = deps.logger;
    this.now = opts.now ?? (() => new Date());
    this.workerCount = opts.workers ?? 2;
    this.dInformer = deps.informers.forResource(DEPLOYMENTS);
    this.rsInformer = deps.informers.forResource(REPLICASETS);
    this.podInformer = deps.informers.forResource(PODS);
    this.dInformer.on({
      add: (d) => this.queue.add(keyOf(d)),
      update: (_old, d) => this.queue.add(keyOf(d)),
      delete: (d) => this.queue.add(keyOf(d)),
    });
    this.rsInformer.on({
      add: (rs) => this.rsAdded(rs),
      update: (old, rs) => this.rsUpdated(old, rs),
      delete: (rs) => this.enqueueOwner(rs),
    });
    // Recreate waits for old pods to be gone: their deletion is the signal to go on.
    this.podInformer.on({ delete: (pod) => this.podDeleted(pod) });
  }

  start(): Promise<void> {
    this.workers.start({ workers: this.workerCount, logger: this.log });
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.workers.stop();
  }

  /** Converges one Deployment (`namespace/name`); throws to be retried with backoff. */
  async reconcile(key: string): Promise<void> {
    const cached = this.dInformer.get(key);
    if (!cached) return;
    const d = structuredClone(cached);
    const selector = selectorOf(d.spec);
    if (selector !== 'nothing' && selector.length === 0) {
      this.events.event(
        d,
        'Warning',
        'SelectingAll',
        'This deployment is selecting all pods. A non-empty selector is required.',
      );
      const status = structuredClone(statusOf(d));
      if (num(status.observedGeneration) < (d.metadata.generation ?? 0)) {
        status.observedGeneration = d.metadata.generation ?? 0;
        await this.writeStatus({ key, d, rsList: [] }, status);
      }
      return;
    }
    const s: Sync = { key, d, rsList: await this.claimReplicaSets(d, selector) };
    if (d.metadata.deletionTimestamp) return this.syncStatusOnly(s);
    await this.checkPausedConditions(s);
    if (isPaused(d)) return this.sync(s);
    if (await this.isScalingEvent(s)) return this.sync(s);
    if (!isRolling(d)) return this.rolloutRecreate(s);
    return this.rolloutRolling(s);
  }

  // ---- ReplicaSets of a Deployment ----

  private claimReplicaSets(
    d: KubeObject,
    selector: LabelSelectorRequirement[] | 'nothing',
  ): Promise<KubeObject[]> {
    const ns = d.metadata.namespace;
    const ref = newControllerRef(d, 'apps/v1', 'Deployment');
    return claimObjects(
      this.rsInformer.list((rs) => rs.metadata.namespace === ns),
      {
        owner: d,
        selector,
        canAdopt: async () => {
          try {
            const fresh = await this.registry.get(DEPLOYMENTS, ns, d.metadata.name ?? '');
            return fresh.metadata.uid === d.metadata.uid && !fresh.metadata.deletionTimestamp;
          } catch (err) {
            if (err instanceof ApiError && err.reason === 'NotFound') return false;
            throw err;
          }
        },
        adopt: (rs) => this.patchRS(rs, adoptionPatch(rs, ref)),
        release: async (rs) => {
          await this.patchRS(rs, releasePatch(rs, d.metadata.uid ?? ''));
        },
      },
    );
  }

  private async patchRS(rs: KubeObject, patch: Rec): Promise<KubeObject | undefined> {
    try {
      const { object } = await this.registry.patch(
        REPLICASETS,
        rs.metadata.namespace,
        rs.metadata.name ?? '',
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

  /** Writes a changed ReplicaSet (guarded by its resourceVersion) and keeps s.rsList current. */
  private async updateRS(s: Sync, rs: KubeObject): Promise<KubeObject> {
    const written = await this.registry.update(
      REPLICASETS,
      rs.metadata.namespace,
      rs.metadata.name ?? '',
      rs,
      { fieldManager: FIELD_MANAGER },
    );
    this.remember(s, written);
    return written;
  }

  private remember(s: Sync, rs: KubeObject): void {
    const i = s.rsList.findIndex((o) => o.metadata.uid === rs.metadata.uid);
    if (i >= 0) s.rsList[i] = rs;
    else s.rsList.push(rs);
  }

  /** The new ReplicaSet (created when asked and missing) and all the old ones, revisions synced. */
  private async getAllReplicaSetsAndSyncRevision(
    s: Sync,
    create: boolean,
  ): Promise<{ newRS: KubeObject | undefined; oldRSs: KubeObject[] }> {
    const current = findNewReplicaSet(s.d, s.rsList);
    const oldRSs = s.rsList.filter((rs) => rs.metadata.uid !== current?.metadata.uid);
    const newRS = await this.getNewReplicaSet(s, oldRSs, create);
    return { newRS, oldRSs };
  }

  private async getNewReplicaSet(
    s: Sync,
    oldRSs: KubeObject[],
    create: boolean,
  ): Promise<KubeObject | undefined> {
    const d = s.d;
    const existing = findNewReplicaSet(d, s.rsList);
    const newRevision = Math.max(0, ...oldRSs.map(revisionOf)) + 1;
    const status = structuredClone(statusOf(d));
    const now = this.now();

    if (existing) {
      const copy = structuredClone(existing);
      const annotationsUpdated = setNewReplicaSetAnnotations(d, copy, newRevision, true);
      if (annotationsUpdated || minReadyOf(copy) !== minReadyOf(d)) {
        rec(copy.spec).minReadySeconds = minReadyOf(d);
        return this.updateRS(s, copy);
      }
      const revisionChanged = this.setDeploymentRevision(
        d,
        copy.metadata.annotations?.[REVISION_ANNOTATION],
      );
      let statusChanged = false;
      if (progressDeadline(d) !== undefined && !getCondition(status, 'Progressing')) {
        setCondition(
          status,
          newCondition(
            'Progressing',
            'True',
            DeploymentReason.FoundNewReplicaSet,
            `Found new replica set "${copy.metadata.name ?? ''}"`,
            now,
          ),
        );
        statusChanged = true;
      }
      if (revisionChanged) await this.writeRevision(s);
      if (statusChanged) await this.writeStatus(s, status);
      return copy;
    }
    if (!create) return undefined;

    const collisionCount = statusOf(d).collisionCount;
    const template = structuredClone(rec(specOf(d).template));
    const hash = podTemplateHash(
      template,
      typeof collisionCount === 'number' ? collisionCount : undefined,
    );
    const templateMeta = rec(template.metadata);
    const labels = { ...stringMap(templateMeta.labels), [POD_TEMPLATE_HASH_LABEL]: hash };
    template.metadata = { ...templateMeta, labels };
    const selector = structuredClone(rec(specOf(d).selector));
    selector.matchLabels = { ...stringMap(selector.matchLabels), [POD_TEMPLATE_HASH_LABEL]: hash };
    const name = `${d.metadata.name ?? ''}-${hash}`;
    const newRS: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: d.metadata.namespace ?? 'default',
        labels,
        ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')],
      },
      spec: { replicas: 0, minReadySeconds: minReadyOf(d), selector, template },
    };
    const count = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
    rec(newRS.spec).replicas = count;
    setNewReplicaSetAnnotations(d, newRS, newRevision, false);

    let created: KubeObject;
    let alreadyExists = false;
    try {
      created = await this.registry.create(REPLICASETS, d.metadata.namespace, newRS, {
        fieldManager: FIELD_MANAGER,
      });
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'AlreadyExists') {
        // A slow cache, or a hash collision with someone else's ReplicaSet.
        const live = await this.registry.get(REPLICASETS, d.metadata.namespace, name);
        if (
          controllerRef(live)?.uid !== d.metadata.uid ||
          !equalIgnoreHash(specOf(d).template, specOf(live).template)
        ) {
          status.collisionCount = (typeof collisionCount === 'number' ? collisionCount : 0) + 1;
          await this.writeStatus(s, status);
          throw err;
        }
        created = live;
        alreadyExists = true;
      } else {
        const msg = `Failed to create new replica set "${name}": ${err instanceof Error ? err.message : String(err)}`;
        if (progressDeadline(d) !== undefined) {
          setCondition(
            status,
            newCondition('Progressing', 'False', DeploymentReason.FailedReplicaSetCreate, msg, now),
          );
          await this.writeStatus(s, status).catch(() => undefined);
        }
        this.events.event(d, 'Warning', DeploymentReason.FailedReplicaSetCreate, msg);
        throw err;
      }
    }
    this.remember(s, created);
    if (!alreadyExists && count > 0) {
      this.events.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${name} to ${count}`,
      );
    }
    const revisionChanged = this.setDeploymentRevision(d, String(newRevision));
    if (revisionChanged) await this.writeRevision(s);
    if (!alreadyExists && progressDeadline(d) !== undefined) {
      setCondition(
        status,
        newCondition(
          'Progressing',
          'True',
          DeploymentReason.NewReplicaSetCreated,
          `Created new replica set "${name}"`,
          now,
        ),
      );
      await this.writeStatus(s, status);
    }
    return created;
  }

  private setDeploymentRevision(d: KubeObject, revision: string | undefined): boolean {
    if (revision === undefined) return false;
    const a = annotationsOf(d);
    if (a[REVISION_ANNOTATION] === revision) return false;
    a[REVISION_ANNOTATION] = revision;
    return true;
  }

  // ---- writes to the Deployment ----

  /**
   * The revision annotation goes through the main resource: kube's status
   * subresource lets annotations through, Shoal's (rightly) only status.
   */
  private async writeRevision(s: Sync): Promise<void> {
    const d = s.d;
    const { object } = await this.registry.patch(
      DEPLOYMENTS,
      d.metadata.namespace,
      d.metadata.name ?? '',
      'merge',
      {
        metadata: {
          resourceVersion: d.metadata.resourceVersion,
          annotations: { [REVISION_ANNOTATION]: d.metadata.annotations?.[REVISION_ANNOTATION] },
        },
      },
      { fieldManager: FIELD_MANAGER },
    );
    d.metadata.resourceVersion = object.metadata.resourceVersion!;
  }

  /** UpdateStatus, guarded by the working copy's resourceVersion; the copy then holds what was written. */
  private async writeStatus(s: Sync, status: Rec): Promise<void> {
    const d = s.d;
    const written = await this.registry.update(
      DEPLOYMENTS,
      d.metadata.namespace,
      d.metadata.name ?? '',
      { ...d, status },
      { subresource: 'status', fieldManager: FIELD_MANAGER },
    );
    d.metadata.resourceVersion = written.metadata.resourceVersion!;
    d.status = written.status;
  }

  // ---- scaling ----

  /** scaleReplicaSetAndRecordEvent: resizes rs (and its replicas annotations); true when the size changed. */
  private async scaleReplicaSet(
    s: Sync,
    rs: KubeObject,
    newScale: number,
  ): Promise<{ scaled: boolean; rs: KubeObject }> {
    const d = s.d;
    const oldScale = replicasOf(rs);
    const desired = replicasOf(d);
    const max = desired + maxSurge(d);
    const sizeChanges = oldScale !== newScale;
    if (!sizeChanges && !replicasAnnotationsNeedUpdate(rs, desired, max))
      return { scaled: false, rs };
    const copy = structuredClone(rs);
    rec(copy.spec).replicas = newScale;
    setReplicasAnnotations(copy, desired, max);
    const written = await this.updateRS(s, copy);
    if (sizeChanges) {
      const op = oldScale < newScale ? 'up' : 'down';
      this.events.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${op} replica set ${rs.metadata.name ?? ''} to ${newScale} from ${oldScale}`,
      );
    }
    return { scaled: sizeChanges, rs: written };
  }

  /** Only when the size differs: the no-op case must not touch annotations (kube's wrapper). */
  private async scaleAndRecord(
    s: Sync,
    rs: KubeObject,
    newScale: number,
  ): Promise<{ scaled: boolean; rs: KubeObject }> {
    if (replicasOf(rs) === newScale) return { scaled: false, rs };
    return this.scaleReplicaSet(s, rs, newScale);
  }

  /** A resize of the Deployment, as opposed to a new template: some active RS was sized for another count. */
  private async isScalingEvent(s: Sync): Promise<boolean> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    for (const rs of activeRSs([...oldRSs, newRS])) {
      const v = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
      if (v !== undefined && Number.isInteger(Number(v)) && Number(v) !== replicasOf(s.d))
        return true;
    }
    return false;
  }

  /**
   * scale: one active ReplicaSet takes the whole count; a saturated new one
   * lets the old ones go; otherwise (a resize mid-rollout) the difference
   * is spread over the active ReplicaSets in proportion to their size.
   */
  private async scale(s: Sync, newRS: KubeObject | undefined, oldRSs: KubeObject[]): Promise<void> {
    const d = s.d;
    const desired = replicasOf(d);
    const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
    if (activeOrLatest) {
      if (replicasOf(activeOrLatest) === desired) return;
      await this.scaleAndRecord(s, activeOrLatest, desired);
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const old of activeRSs(oldRSs)) await this.scaleAndRecord(s, old, 0);
      return;
    }
    if (!isRolling(d)) return;
    const all = activeRSs([...oldRSs, newRS]);
    const allowed = desired > 0 ? desired + maxSurge(d) : 0;
    const toAdd = allowed - specReplicas(all);
    if (toAdd > 0) all.sort(bySize(true));
    else if (toAdd < 0) all.sort(bySize(false));
    let added = 0;
    const sizes = new Map<string, number>();
    for (const rs of all) {
      const name = rs.metadata.name ?? '';
      if (toAdd !== 0) {
        const p = proportion(rs, d, toAdd, added);
        sizes.set(name, replicasOf(rs) + p);
        added += p;
      } else {
        sizes.set(name, replicasOf(rs));
      }
    }
    for (const [i, rs] of all.entries()) {
      const name = rs.metadata.name ?? '';
      // Rounding leftovers go to the largest (first) ReplicaSet.
      if (i === 0 && toAdd !== 0)
        sizes.set(name, Math.max(0, (sizes.get(name) ?? 0) + toAdd - added));
      await this.scaleReplicaSet(s, rs, sizes.get(name) ?? 0);
    }
  }

  private async cleanupDeployment(s: Sync, oldRSs: KubeObject[]): Promise<void> {
    const limit = specOf(s.d).revisionHistoryLimit;
    if (typeof limit !== 'number') return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp).sort(byRevision);
    const diff = cleanable.length - limit;
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i];
      if (!rs) break;
      // Only ReplicaSets that are truly empty and whose latest spec their controller has seen.
      if (
        num(statusOf(rs).replicas) !== 0 ||
        replicasOf(rs) !== 0 ||
        (rs.metadata.generation ?? 0) > num(statusOf(rs).observedGeneration)
      )
        continue;
      try {
        await this.registry.delete(REPLICASETS, rs.metadata.namespace, rs.metadata.name ?? '', {
          preconditions: { uid: rs.metadata.uid ?? '' },
        });
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
      }
      s.rsList = s.rsList.filter((o) => o.metadata.uid !== rs.metadata.uid);
    }
  }

  // ---- the paths through a sync ----

  private async syncStatusOnly(s: Sync): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    await this.syncDeploymentStatus(s, [...oldRSs, newRS], newRS);
  }

  /** Scaling and paused Deployments: resize, never roll. */
  private async sync(s: Sync): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    await this.scale(s, newRS, oldRSs);
    if (isPaused(s.d)) await this.cleanupDeployment(s, oldRSs);
    await this.syncDeploymentStatus(s, [...oldRSs, newRS], newRS);
  }

  /** The current objects (after this sync's writes) of a list of ReplicaSets. */
  private fresh(s: Sync, list: (KubeObject | undefined)[]): (KubeObject | undefined)[] {
    return list.map((rs) => rs && (s.rsList.find((o) => o.metadata.uid === rs.metadata.uid) ?? rs));
  }

  private async checkPausedConditions(s: Sync): Promise<void> {
    const d = s.d;
    if (progressDeadline(d) === undefined) return;
    const status = structuredClone(statusOf(d));
    const cond = getCondition(status, 'Progressing');
    // A reported lack of progress stays reported.
    if (cond?.reason === DeploymentReason.ProgressDeadlineExceeded) return;
    const pausedExists = cond?.reason === DeploymentReason.DeploymentPaused;
    const now = this.now();
    if (isPaused(d) && !pausedExists) {
      setCondition(
        status,
        newCondition(
          'Progressing',
          'Unknown',
          DeploymentReason.DeploymentPaused,
          'Deployment is paused',
          now,
        ),
      );
    } else if (!isPaused(d) && pausedExists) {
      setCondition(
        status,
        newCondition(
          'Progressing',
          'Unknown',
          DeploymentReason.DeploymentResumed,
          'Deployment is resumed',
          now,
        ),
      );
    } else {
      return;
    }
    await this.writeStatus(s, status);
  }

  private async rolloutRolling(s: Sync): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, true);
    const all = [...oldRSs, newRS];
    if (newRS && (await this.reconcileNewReplicaSet(s, all, newRS)))
      return this.syncRolloutStatus(s, all, newRS);
    if (newRS && (await this.reconcileOldReplicaSets(s, all, activeRSs(oldRSs), newRS)))
      return this.syncRolloutStatus(s, all, newRS);
    if (deploymentComplete(s.d, statusOf(s.d))) await this.cleanupDeployment(s, oldRSs);
    return this.syncRolloutStatus(s, all, newRS);
  }

  private async reconcileNewReplicaSet(
    s: Sync,
    all: (KubeObject | undefined)[],
    newRS: KubeObject,
  ): Promise<boolean> {
    const desired = replicasOf(s.d);
    if (replicasOf(newRS) === desired) return false;
    if (replicasOf(newRS) > desired) return (await this.scaleAndRecord(s, newRS, desired)).scaled;
    const count = newRSNewReplicas(s.d, activeOrAll(all), newRS);
    return (await this.scaleAndRecord(s, newRS, count)).scaled;
  }

  /**
   * Scales old ReplicaSets down as far as availability allows: first their
   * unhealthy replicas (which cost no availability), then healthy ones down
   * to replicas − maxUnavailable available in total.
   */
  private async reconcileOldReplicaSets(
    s: Sync,
    all: (KubeObject | undefined)[],
    oldRSs: KubeObject[],
    newRS: KubeObject,
  ): Promise<boolean> {
    const oldPods = specReplicas(oldRSs);
    if (oldPods === 0) return false;
    const allPods = specReplicas(all);
    const minAvailable = replicasOf(s.d) - maxUnavailable(s.d);
    const newUnavailable = replicasOf(newRS) - num(statusOf(newRS).availableReplicas);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;

    const cleaned = await this.cleanupUnhealthyReplicas(s, oldRSs, maxScaledDown);
    const scaledDown = await this.scaleDownOldForRollingUpdate(
      s,
      [...cleaned.oldRSs, newRS],
      cleaned.oldRSs,
    );
    return cleaned.count + scaledDown > 0;
  }

  private async cleanupUnhealthyReplicas(
    s: Sync,
    oldRSs: KubeObject[],
    maxCleanup: number,
  ): Promise<{ oldRSs: KubeObject[]; count: number }> {
    const sorted = [...oldRSs].sort(byCreation);
    let total = 0;
    for (const [i, rs] of sorted.entries()) {
      if (total >= maxCleanup) break;
      const replicas = replicasOf(rs);
      const available = num(statusOf(rs).availableReplicas);
      if (replicas === 0 || replicas === available) continue;
      const down = Math.min(maxCleanup - total, replicas - available);
      sorted[i] = (await this.scaleAndRecord(s, rs, replicas - down)).rs;
      total += down;
    }
    return { oldRSs: sorted, count: total };
  }

  private async scaleDownOldForRollingUpdate(
    s: Sync,
    all: KubeObject[],
    oldRSs: KubeObject[],
  ): Promise<number> {
    const minAvailable = replicasOf(s.d) - maxUnavailable(s.d);
    const available = availableReplicas(all);
    if (available <= minAvailable) return 0;
    const target = available - minAvailable;
    let total = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (total >= target) break;
      if (replicasOf(rs) === 0) continue;
      const down = Math.min(replicasOf(rs), target - total);
      await this.scaleAndRecord(s, rs, replicasOf(rs) - down);
      total += down;
    }
    return total;
  }

  private async rolloutRecreate(s: Sync): Promise<void> {
    const podMap = this.podMap(s);
    let { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    let all = [...oldRSs, newRS];
    let scaledDown = false;
    for (const rs of activeRSs(oldRSs)) {
      if ((await this.scaleAndRecord(s, rs, 0)).scaled) scaledDown = true;
    }
    if (scaledDown) return this.syncRolloutStatus(s, all, newRS);
    if (oldPodsRunning(newRS, oldRSs, podMap)) return this.syncRolloutStatus(s, all, newRS);
    if (!newRS) {
      ({ newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, true));
      all = [...oldRSs, newRS];
    }
    if (newRS) await this.scaleAndRecord(s, newRS, replicasOf(s.d));
    if (deploymentComplete(s.d, statusOf(s.d))) await this.cleanupDeployment(s, oldRSs);
    return this.syncRolloutStatus(s, all, newRS);
  }

  /** Pods of the Deployment's ReplicaSets, by ReplicaSet uid, from the cache. */
  private podMap(s: Sync): Map<string, KubeObject[]> {
    const map = new Map<string, KubeObject[]>();
    for (const rs of s.rsList) map.set(rs.metadata.uid ?? '', []);
    const ns = s.d.metadata.namespace;
    const selector = selectorOf(s.d.spec);
    for (const pod of this.podInformer.list((p) => p.metadata.namespace === ns)) {
      if (!selects(selector, pod.metadata.labels)) continue;
      const ref = controllerRef(pod);
      if (ref) map.get(ref.uid)?.push(pod);
    }
    return map;
  }

  // ---- status ----

  private calculateStatus(
    s: Sync,
    stale: (KubeObject | undefined)[],
    staleNew: KubeObject | undefined,
  ): Rec {
    const d = s.d;
    // The ReplicaSets as this sync left them, so spec sizes it just wrote count.
    const all = this.fresh(s, stale);
    const newRS = this.fresh(s, [staleNew])[0];
    const available = availableReplicas(all);
    const total = specReplicas(all);
    const status: Rec = {
      observedGeneration: d.metadata.generation ?? 0,
      replicas: actualReplicas(all),
      updatedReplicas: actualReplicas([newRS]),
      readyReplicas: readyReplicas(all),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available),
      conditions: structuredClone(conditionsOf(statusOf(d))),
    };
    const collisionCount = statusOf(d).collisionCount;
    if (typeof collisionCount === 'number') status.collisionCount = collisionCount;
    const now = this.now();
    if (available >= replicasOf(d) - maxUnavailable(d)) {
      setCondition(
        status,
        newCondition(
          'Available',
          'True',
          DeploymentReason.MinimumReplicasAvailable,
          'Deployment has minimum availability.',
          now,
        ),
      );
    } else {
      setCondition(
        status,
        newCondition(
          'Available',
          'False',
          DeploymentReason.MinimumReplicasUnavailable,
          'Deployment does not have minimum availability.',
          now,
        ),
      );
    }
    return status;
  }

  private async syncDeploymentStatus(
    s: Sync,
    all: (KubeObject | undefined)[],
    newRS: KubeObject | undefined,
  ): Promise<void> {
    const status = this.calculateStatus(s, all, newRS);
    if (semanticEqual(statusOf(s.d), status)) return;
    await this.writeStatus(s, status);
  }

  /** Status plus the Progressing condition: complete, progressing, or past its deadline. */
  private async syncRolloutStatus(
    s: Sync,
    all: (KubeObject | undefined)[],
    newRS: KubeObject | undefined,
  ): Promise<void> {
    const d = s.d;
    const status = this.calculateStatus(s, all, newRS);
    const deadline = progressDeadline(d);
    if (deadline === undefined) removeCondition(status, 'Progressing');
    const current = getCondition(statusOf(d), 'Progressing');
    const isComplete =
      num(status.replicas) === num(status.updatedReplicas) &&
      current?.reason === DeploymentReason.NewReplicaSetAvailable;
    const now = this.now();
    const subject = newRS
      ? `ReplicaSet "${newRS.metadata.name ?? ''}"`
      : `Deployment "${d.metadata.name ?? ''}"`;
    if (deadline !== undefined && !isComplete) {
      if (deploymentComplete(d, status)) {
        setCondition(
          status,
          newCondition(
            'Progressing',
            'True',
            DeploymentReason.NewReplicaSetAvailable,
            `${subject} has successfully progressed.`,
            now,
          ),
        );
      } else if (deploymentProgressing(d, status)) {
        const cond = newCondition(
          'Progressing',
          'True',
          DeploymentReason.ReplicaSetUpdated,
          `${subject} is progressing.`,
          now,
        );
        // Progress refreshes lastUpdateTime even with the same reason (that is what the deadline counts from).
        if (current) {
          if (current.status === 'True') cond.lastTransitionTime = current.lastTransitionTime;
          removeCondition(status, 'Progressing');
        }
        setCondition(status, cond);
      } else if (timedOut(status, deadline, now)) {
        setCondition(
          status,
          newCondition(
            'Progressing',
            'False',
            DeploymentReason.ProgressDeadlineExceeded,
            `${subject} has timed out progressing.`,
            now,
          ),
        );
      }
    }
    if (semanticEqual(statusOf(d), status)) {
      this.requeueStuck(s, status);
      return;
    }
    await this.writeStatus(s, status);
  }

  /** Looks again when the deadline of a rollout that is not moving would pass. */
  private requeueStuck(s: Sync, status: Rec): void {
    const deadline = progressDeadline(s.d);
    const cond = getCondition(statusOf(s.d), 'Progressing');
    if (deadline === undefined || !cond) return;
    if (
      deploymentComplete(s.d, status) ||
      cond.reason === DeploymentReason.ProgressDeadlineExceeded
    )
      return;
    const after = timeOf(cond.lastUpdateTime) + deadline * 1000 - this.now().getTime();
    this.queue.addAfter(s.key, Math.max(after, 100));
  }

  // ---- informer handlers ----

  private resolveOwner(rs: KubeObject): KubeObject | undefined {
    const ref = controllerRef(rs);
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = this.dInformer.get(`${rs.metadata.namespace ?? ''}/${ref.name}`);
    return d?.metadata.uid === ref.uid ? d : undefined;
  }

  private enqueueOwner(rs: KubeObject): void {
    const d = this.resolveOwner(rs);
    if (d) this.queue.add(keyOf(d));
  }

  /** Deployments that might adopt an orphaned ReplicaSet. */
  private enqueueSelecting(rs: KubeObject): void {
    const ns = rs.metadata.namespace;
    for (const d of this.dInformer.list((o) => o.metadata.namespace === ns)) {
      const sel = selectorOf(d.spec);
      if (sel !== 'nothing' && sel.length > 0 && selects(sel, rs.metadata.labels))
        this.queue.add(keyOf(d));
    }
  }

  private rsAdded(rs: KubeObject): void {
    if (controllerRef(rs)) this.enqueueOwner(rs);
    else if (!rs.metadata.deletionTimestamp) this.enqueueSelecting(rs);
  }

  private rsUpdated(old: KubeObject, rs: KubeObject): void {
    if (old.metadata.resourceVersion === rs.metadata.resourceVersion) return;
    const oldRef = controllerRef(old);
    const curRef = controllerRef(rs);
    const refChanged = oldRef?.uid !== curRef?.uid;
    if (refChanged && oldRef) this.enqueueOwner(old);
    if (curRef) {
      this.enqueueOwner(rs);
      return;
    }
    const labelsChanged =
      JSON.stringify(old.metadata.labels) !== JSON.stringify(rs.metadata.labels);
    if (labelsChanged || refChanged) this.enqueueSelecting(rs);
  }

  private podDeleted(pod: KubeObject): void {
    const ref = controllerRef(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.rsInformer.get(`${pod.metadata.namespace ?? ''}/${ref.name}`);
    if (!rs || rs.metadata.uid !== ref.uid) return;
    const d = this.resolveOwner(rs);
    if (d && !isRolling(d)) this.queue.add(keyOf(d));
  }
}

// ---------------------------------------------------------------------------
// Helpers of the paths above

function activeOrAll(all: (KubeObject | undefined)[]): KubeObject[] {
  return all.filter((o): o is KubeObject => o !== undefined);
}

/** The one active ReplicaSet, or with none active the newest; undefined while several are active. */
function findActiveOrLatest(
  newRS: KubeObject | undefined,
  oldRSs: KubeObject[],
): KubeObject | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const newestFirst = [...oldRSs].sort(byCreation).reverse();
  const active = activeRSs([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  if (active.length === 1) return active[0];
  return undefined;
}

/** The new ReplicaSet has the full count, was sized for it, and all of it is available. */
function isSaturated(d: KubeObject, rs: KubeObject | undefined): boolean {
  if (!rs) return false;
  const desired = Number(rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION]);
  const replicas = replicasOf(d);
  return (
    Number.isInteger(desired) &&
    replicasOf(rs) === replicas &&
    desired === replicas &&
    num(statusOf(rs).availableReplicas) === replicas
  );
}

/** Larger first; equal sizes newer first when scaling up, older first when scaling down. */
function bySize(newerFirst: boolean): (a: KubeObject, b: KubeObject) => number {
  return (a, b) => {
    const d = replicasOf(b) - replicasOf(a);
    if (d !== 0) return d;
    return newerFirst ? byCreation(b, a) : byCreation(a, b);
  };
}

/** GetProportion: this ReplicaSet's share of a resize, bounded by what is left to hand out. */
function proportion(rs: KubeObject, d: KubeObject, toAdd: number, added: number): number {
  if (replicasOf(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(rs: KubeObject, d: KubeObject): number {
  const desired = replicasOf(d);
  if (desired === 0) return -replicasOf(rs);
  const deploymentReplicas = desired + maxSurge(d);
  const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION]);
  const base = Number.isInteger(annotated) ? annotated : num(statusOf(d).replicas);
  if (base === 0) return 0;
  // Go's math.Round: halves away from zero.
  const size = (replicasOf(rs) * deploymentReplicas) / base;
  const rounded = Math.sign(size) * Math.round(Math.abs(size));
  return rounded - replicasOf(rs);
}

/** Recreate: whether any pod of an old ReplicaSet may still run. */
function oldPodsRunning(
  newRS: KubeObject | undefined,
  oldRSs: KubeObject[],
  podMap: Map<string, KubeObject[]>,
): boolean {
  if (actualReplicas(oldRSs) > 0) return true;
  for (const [uid, pods] of podMap) {
    if (newRS && newRS.metadata.uid === uid) continue;
    for (const pod of pods) {
      const phase = podPhase(pod);
      if (phase !== 'Failed' && phase !== 'Succeeded') return true;
    }
  }
  return false;
}

/** DeploymentTimedOut: the Progressing condition has not moved for the deadline. */
function timedOut(status: Rec, deadline: number, now: Date): boolean {
  const cond = getCondition(status, 'Progressing');
  if (!cond) return false;
  if (cond.reason === DeploymentReason.NewReplicaSetAvailable) return false;
  if (cond.reason === DeploymentReason.ProgressDeadlineExceeded) return true;
  return timeOf(cond.lastUpdateTime) + deadline * 1000 < now.getTime();
}
