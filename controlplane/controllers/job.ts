// The Job controller: runs pods until `completions` of them succeed, at most
// `parallelism` at a time, and gives up with a Failed condition when more
// than `backoffLimit` pods failed (BackoffLimitExceeded) or the job ran past
// `activeDeadlineSeconds` (DeadlineExceeded). A finished Job with
// `ttlSecondsAfterFinished` is deleted (background propagation) that long
// after it finished.
//
// Counting: Kubernetes keeps a `batch.kubernetes.io/job-tracking` finalizer
// on each pod until its outcome is in the Job's status. Shoal does not:
// it counts the phases of the owned pods that still exist, and never deletes
// a finished pod while the Job exists (the garbage collector removes them
// with it). Counts never go down (status is the floor), so a finished pod
// someone else deletes is not counted twice, though its replacement may run
// one pod more than needed.
//
// Pods are found by controller ownerReference, not by selector: the API
// server does not default a Job's selector in Shoal, so pods carry the
// labels Kubernetes would select on (`batch.kubernetes.io/controller-uid`,
// `batch.kubernetes.io/job-name`, and their legacy short forms) for users.

import type { Logger } from 'pino';
import { isRecord, type KubeObject } from '../api/objects.js';
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
  isPodActive,
  isPodReady,
  newControllerRef,
  podPhase,
} from './owner-refs.js';

const JOBS = findResource('batch', 'v1', 'jobs')!;
const PODS = findResource('', 'v1', 'pods')!;
const FIELD_MANAGER = 'job-controller';

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
const LEGACY_JOB_NAME_LABEL = 'job-name';
const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

type Rec = Record<string, unknown>;

export interface JobControllerOptions {
  workers?: number;
  /** The clock for startTime, deadlines and TTLs; tests pass their own. */
  now?: () => Date;
}

interface Finish {
  type: 'Complete' | 'Failed';
  reason: string;
  message: string;
}

export class JobController implements Controller {
  readonly name = 'job';
  private readonly registry: Registry;
  private readonly events: EventRecorder;
  private readonly log: Logger | undefined;
  private readonly jobs: Informer;
  private readonly pods: Informer;
  private readonly queue = new WorkQueue('job');
  private readonly workers = new Workers(this.queue, this);
  private readonly inFlight = new InFlightWrites();
  private readonly now: () => Date;

  constructor(
    deps: ControllerDeps,
    private readonly opts: JobControllerOptions = {},
  ) {
    this.registry = deps.registry;
    this.events = deps.events;
    this.log = deps.logger;
    this.now = opts.now ?? (() => new Date());
    this.jobs = deps.informers.forResource(JOBS);
    this.pods = deps.informers.forResource(PODS);
    this.jobs.on({
      add: (job) => this.queue.add(objectKeyOf(job)),
      update: (_old, job) => this.queue.add(objectKeyOf(job)),
      delete: (job) => this.queue.add(objectKeyOf(job)),
    });
    this.pods.on({
      add: (pod) => this.podChanged(pod, pod),
      update: (_old, pod) => this.podChanged(pod, pod),
      delete: (pod) => this.podChanged(pod, undefined),
    });
  }

  async start(): Promise<void> {
    for (const job of this.jobs.list()) this.queue.add(objectKeyOf(job));
    this.workers.start({ workers: this.opts.workers ?? 2, logger: this.log });
  }

  async stop(): Promise<void> {
    await this.workers.stop();
  }

  /** Converges the Job `namespace/name`: pods, then status; a finished Job only waits for its TTL. */
  async reconcile(key: string): Promise<void> {
    const job = this.jobs.get(key);
    if (!job) {
      this.inFlight.forget(key);
      return;
    }
    if (job.metadata.deletionTimestamp) return;
    const now = this.now();
    const spec = isRecord(job.spec) ? job.spec : {};
    const status = isRecord(job.status) ? job.status : {};
    if (finishedCondition(status)) {
      await this.expireAfterTtl(key, job, spec, status, now);
      return;
    }
    // Counts read from a cache that lacks our last writes would overshoot.
    if (!this.inFlight.satisfied(key)) return;

    const pods = this.pods.list(
      (p) => p.metadata.namespace === job.metadata.namespace && isControlledBy(p, job.metadata.uid),
    );
    const active = pods.filter(isPodActive);
    const succeeded = Math.max(
      num(status.succeeded),
      pods.filter((p) => podPhase(p) === 'Succeeded').length,
    );
    const failed = Math.max(
      num(status.failed),
      pods.filter((p) => podPhase(p) === 'Failed').length,
    );
    const suspended = spec.suspend === true;
    const startTime =
      typeof status.startTime === 'string'
        ? status.startTime
        : suspended
          ? undefined
          : timestamp(now);
    const completions = typeof spec.completions === 'number' ? spec.completions : undefined;
    const parallelism = typeof spec.parallelism === 'number' ? spec.parallelism : 1;
    const backoffLimit = typeof spec.backoffLimit === 'number' ? spec.backoffLimit : 6;
    const deadline =
      typeof spec.activeDeadlineSeconds === 'number' ? spec.activeDeadlineSeconds : undefined;

    let finish: Finish | undefined;
    if (failed > backoffLimit || pastBackoffLimitOnFailure(spec, active, backoffLimit)) {
      finish = {
        type: 'Failed',
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
      };
    } else if (
      deadline !== undefined &&
      startTime !== undefined &&
      now.getTime() - Date.parse(startTime) >= deadline * 1000
    ) {
      finish = {
        type: 'Failed',
        reason: 'DeadlineExceeded',
        message: 'Job was active longer than specified deadline',
      };
    } else if (
      completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0
    ) {
      finish = { type: 'Complete', reason: '', message: '' };
    }

    let activeAfter = active.length;
    if (finish) {
      // A finished Job keeps nothing running (this includes the extra pods of a Job that completed early).
      await this.writePods(key, job, 0, active);
      activeAfter = 0;
    } else {
      const want = suspended
        ? 0
        : completions !== undefined
          ? Math.min(parallelism, Math.max(0, completions - succeeded))
          : succeeded > 0
            ? active.length // a work-queue Job: once one succeeded, start no more, let the rest finish
            : parallelism;
      if (active.length > want) {
        const victims = [...active].sort(deletionOrder).slice(0, active.length - want);
        await this.writePods(key, job, 0, victims);
        activeAfter = want;
      } else if (active.length < want) {
        await this.writePods(key, job, want - active.length, []);
        activeAfter = want;
      }
    }

    const next: Rec = {
      ...status,
      active: activeAfter,
      succeeded,
      failed,
      ready: finish ? 0 : active.filter(isPodReady).length,
    };
    if (startTime !== undefined) next.startTime = startTime;
    if (finish) {
      const conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter(
        isRecord,
      );
      conditions.push({
        type: finish.type,
        status: 'True',
        lastProbeTime: timestamp(now),
        lastTransitionTime: timestamp(now),
        ...(finish.reason ? { reason: finish.reason, message: finish.message } : {}),
      });
      next.conditions = conditions;
      if (finish.type === 'Complete') next.completionTime = timestamp(now);
    }
    if (JSON.stringify(next) !== JSON.stringify(status)) {
      const updated = structuredClone(job);
      updated.status = next;
      await this.registry.update(JOBS, job.metadata.namespace, job.metadata.name ?? '', updated, {
        subresource: 'status',
        fieldManager: FIELD_MANAGER,
      });
    }
    if (finish) {
      if (finish.type === 'Complete')
        this.events.event(job, 'Normal', 'Completed', 'Job completed');
      else this.events.event(job, 'Warning', finish.reason, finish.message);
      const ttl = spec.ttlSecondsAfterFinished;
      if (typeof ttl === 'number') this.queue.addAfter(key, ttl * 1000);
    } else if (deadline !== undefined && startTime !== undefined) {
      // Nothing else would wake us when the deadline passes.
      this.queue.addAfter(key, Date.parse(startTime) + deadline * 1000 - now.getTime());
    }
  }

  /** ttlSecondsAfterFinished: deletes the Job (and, through the garbage collector, its pods) once it expires. */
  private async expireAfterTtl(
    key: string,
    job: KubeObject,
    spec: Rec,
    status: Rec,
    now: Date,
  ): Promise<void> {
    const ttl = spec.ttlSecondsAfterFinished;
    if (typeof ttl !== 'number') return;
    const finishedAt = Date.parse(finishTimeOf(status) ?? '');
    if (!Number.isFinite(finishedAt)) return;
    const left = finishedAt + ttl * 1000 - now.getTime();
    if (left > 0) {
      this.queue.addAfter(key, left);
      return;
    }
    try {
      await this.registry.delete(JOBS, job.metadata.namespace, job.metadata.name ?? '', {
        propagationPolicy: 'Background',
        preconditions: { uid: job.metadata.uid! },
      });
    } catch (err) {
      if (!isApiError(err, 'NotFound')) throw err;
    }
  }

  private async writePods(
    key: string,
    job: KubeObject,
    creates: number,
    victims: KubeObject[],
  ): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all([
      ...Array.from({ length: creates }, async () => {
        try {
          const pod = await this.registry.create(PODS, job.metadata.namespace, jobPod(job), {
            fieldManager: FIELD_MANAGER,
          });
          const podKey = objectKeyOf(pod);
          this.inFlight.expect(key, podKey, 'create', this.pods.get(podKey) !== undefined);
          this.events.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
        } catch (err) {
          this.events.event(job, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
          errors.push(err);
        }
      }),
      ...victims.map(async (pod) => {
        const podKey = objectKeyOf(pod);
        try {
          await this.registry.delete(PODS, pod.metadata.namespace, pod.metadata.name ?? '', {
            preconditions: { uid: pod.metadata.uid! },
          });
          const cached = this.pods.get(podKey);
          this.inFlight.expect(
            key,
            podKey,
            'delete',
            !cached || !!cached.metadata.deletionTimestamp,
          );
          this.events.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
        } catch (err) {
          if (isApiError(err, 'NotFound')) return;
          this.events.event(job, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(err)}`);
          errors.push(err);
        }
      }),
    ]);
    if (errors.length > 0) throw errors[0];
  }

  private podChanged(pod: KubeObject, now: KubeObject | undefined): void {
    const cleared = this.inFlight.observe(objectKeyOf(pod), now);
    if (cleared) this.queue.add(cleared);
    const ref = controllerRefOf(pod);
    if (ref?.kind === 'Job' && ref.apiVersion.startsWith('batch/')) {
      this.queue.add(`${pod.metadata.namespace ?? ''}/${ref.name}`);
    }
  }
}

/** The pod a Job runs: its template, labelled for the Job and owned by it. */
export function jobPod(job: KubeObject): KubeObject {
  const spec = isRecord(job.spec) ? job.spec : {};
  const template = isRecord(spec.template) ? spec.template : {};
  const meta = isRecord(template.metadata) ? template.metadata : {};
  const name = job.metadata.name ?? '';
  const uid = job.metadata.uid ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${name}-`.slice(0, 58),
      namespace: job.metadata.namespace ?? 'default',
      labels: {
        ...(isRecord(meta.labels) ? (meta.labels as Record<string, string>) : {}),
        [CONTROLLER_UID_LABEL]: uid,
        [LEGACY_CONTROLLER_UID_LABEL]: uid,
        [JOB_NAME_LABEL]: name,
        [LEGACY_JOB_NAME_LABEL]: name,
      },
      ...(isRecord(meta.annotations)
        ? { annotations: { ...(meta.annotations as Record<string, string>) } }
        : {}),
      ownerReferences: [newControllerRef({ ...job, apiVersion: 'batch/v1', kind: 'Job' })],
    },
    spec: structuredClone(isRecord(template.spec) ? template.spec : {}),
  };
}

/**
 * With restartPolicy OnFailure failures are container restarts in running
 * pods; Kubernetes counts them against backoffLimit (pastBackoffLimitOnFailure).
 */
function pastBackoffLimitOnFailure(spec: Rec, active: KubeObject[], backoffLimit: number): boolean {
  const template = isRecord(spec.template) ? spec.template : {};
  const podSpec = isRecord(template.spec) ? template.spec : {};
  if (podSpec.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const pod of active) {
    const phase = podPhase(pod);
    if (phase !== 'Running' && phase !== 'Pending') continue;
    const status = isRecord(pod.status) ? pod.status : {};
    for (const field of ['initContainerStatuses', 'containerStatuses']) {
      const list = Array.isArray(status[field]) ? (status[field] as unknown[]) : [];
      for (const c of list) if (isRecord(c)) restarts += num(c.restartCount);
    }
  }
  return backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit;
}

function finishedCondition(status: Rec): Rec | undefined {
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  return conditions.find(
    (c): c is Rec =>
      isRecord(c) && (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
}

function finishTimeOf(status: Rec): string | undefined {
  if (typeof status.completionTime === 'string') return status.completionTime;
  const c = finishedCondition(status);
  return typeof c?.lastTransitionTime === 'string' ? c.lastTransitionTime : undefined;
}

/** Which active pods to stop first (controller.ActivePods' order): unbound, then pending, then not ready, then newest. */
function deletionOrder(a: KubeObject, b: KubeObject): number {
  const rank = (p: KubeObject): number[] => {
    const spec = isRecord(p.spec) ? p.spec : {};
    return [spec.nodeName ? 1 : 0, podPhase(p) === 'Pending' ? 0 : 1, isPodReady(p) ? 1 : 0];
  };
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  return ta === tb ? 0 : ta > tb ? -1 : 1;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
