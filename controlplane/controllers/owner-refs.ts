// Small helpers shared by the controllers that own pods (DaemonSet, Job):
// the controller ownerReference (who owns an object, how to name an owner),
// pod readiness as Kubernetes' podutil judges it, and a record of writes not
// yet seen in the informer cache, so a reconcile that runs before the cache
// catches up does not create or delete the same pod twice (client-go's
// ControllerExpectations, reduced to what these controllers need).

import { isRecord, type KubeObject, type OwnerReference } from '../api/objects.js';
import { ApiError, type StatusReasonName } from '../api/status.js';

/** The ownerReference with controller=true, if any (an object has at most one). */
export function controllerRefOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** True when owner is obj's managing controller (compared by uid, as names can be reused). */
export function isControlledBy(obj: KubeObject, ownerUid: string | undefined): boolean {
  return ownerUid !== undefined && controllerRefOf(obj)?.uid === ownerUid;
}

/** The reference a controller puts on what it creates; blockOwnerDeletion lets foreground deletion wait for it. */
export function newControllerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? '',
    kind: owner.kind ?? '',
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

function podConditions(pod: KubeObject): Record<string, unknown>[] {
  const status = isRecord(pod.status) ? pod.status : {};
  return Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
}

export function podPhase(pod: KubeObject): string {
  const status = isRecord(pod.status) ? pod.status : {};
  return typeof status.phase === 'string' ? status.phase : '';
}

/** Succeeded or Failed: the pod will not run again. */
export function isPodTerminal(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Neither finished nor being deleted (controller.IsPodActive). */
export function isPodActive(pod: KubeObject): boolean {
  return !isPodTerminal(pod) && !pod.metadata.deletionTimestamp;
}

/** The Ready condition is True. */
export function isPodReady(pod: KubeObject): boolean {
  return podConditions(pod).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Ready for at least minReadySeconds (podutil.IsPodAvailable). */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: Date): boolean {
  const ready = podConditions(pod).find((c) => c.type === 'Ready' && c.status === 'True');
  if (!ready) return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse(
    typeof ready.lastTransitionTime === 'string' ? ready.lastTransitionTime : '',
  );
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now.getTime();
}

export function isApiError(err: unknown, ...reasons: StatusReasonName[]): boolean {
  return err instanceof ApiError && reasons.includes(err.reason);
}

/** How long an unobserved write blocks its controller before it is assumed lost (client-go: 5 min). */
const IN_FLIGHT_TTL_MS = 60_000;

/**
 * Pod creates and deletes a controller made that its cache has not shown yet.
 * While a controller key has any, its reconcile must not act on pod counts
 * (they are stale); the informer event that shows the write clears it and
 * queues the controller again.
 */
export class InFlightWrites {
  /** controller key → pod key → when the write was made. */
  private readonly pending = new Map<
    string,
    Map<string, { op: 'create' | 'delete'; at: number }>
  >();
  /** pod key → controller key, to clear from pod events. */
  private readonly byPod = new Map<string, string>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Records a write unless the cache already shows it: `seen` reads the cache
   * now (synchronously, so no event can slip in between).
   */
  expect(controllerKey: string, podKey: string, op: 'create' | 'delete', seen: boolean): void {
    if (seen) return;
    let m = this.pending.get(controllerKey);
    if (!m) {
      m = new Map();
      this.pending.set(controllerKey, m);
    }
    m.set(podKey, { op, at: this.now() });
    this.byPod.set(podKey, controllerKey);
  }

  /** A pod event: clears a create once the pod is in the cache, a delete once it is gone or terminating. */
  observe(podKey: string, pod: KubeObject | undefined): string | undefined {
    const controllerKey = this.byPod.get(podKey);
    if (controllerKey === undefined) return undefined;
    const m = this.pending.get(controllerKey);
    const entry = m?.get(podKey);
    if (!m || !entry) return undefined;
    const done =
      entry.op === 'create'
        ? pod !== undefined
        : pod === undefined || !!pod.metadata.deletionTimestamp;
    if (!done) return undefined;
    m.delete(podKey);
    this.byPod.delete(podKey);
    if (m.size === 0) this.pending.delete(controllerKey);
    return controllerKey;
  }

  /** True when every write of this controller has been seen (or has expired). */
  satisfied(controllerKey: string): boolean {
    const m = this.pending.get(controllerKey);
    if (!m) return true;
    const cutoff = this.now() - IN_FLIGHT_TTL_MS;
    for (const [podKey, e] of m) {
      if (e.at < cutoff) {
        m.delete(podKey);
        this.byPod.delete(podKey);
      }
    }
    if (m.size > 0) return false;
    this.pending.delete(controllerKey);
    return true;
  }

  /** The controller is gone: drop what it waited for. */
  forget(controllerKey: string): void {
    const m = this.pending.get(controllerKey);
    if (!m) return;
    for (const podKey of m.keys()) this.byPod.delete(podKey);
    this.pending.delete(controllerKey);
  }
}
