// Small helpers shared by the controllers that own pods (DaemonSet, Job):
// the controller ownerReference (who owns an object, how to name an owner),
// pod readiness as Kubernetes' podutil judges it, and a record of writes not
// yet seen in the informer cache, so a reconcile that runs before the cache
// catches up does not create or delete the same pod twice (client-go's
// ControllerExpectations, reduced to what these controllers need).

import type { KubeObject, OwnerReference } from '../api/objects.js';
import { controllerRef, newControllerRef as podControlRef, podPhase } from './pod-control.js';
import { ApiError, type StatusReasonName } from '../api/status.js';

// Pod state and controller references as pod-control.ts defines them for the
// ReplicaSet and Deployment controllers: one definition for every controller.
export {
  controllerRef as controllerRefOf,
  podPhase,
  isPodActive,
  isPodReady,
  isPodAvailable,
} from './pod-control.js';

/** True when owner is obj's managing controller (compared by uid, as names can be reused). */
export function isControlledBy(obj: KubeObject, ownerUid: string | undefined): boolean {
  return ownerUid !== undefined && controllerRef(obj)?.uid === ownerUid;
}

/** The reference a controller puts on what it creates, naming the owner by its own apiVersion and kind. */
export function newControllerRef(owner: KubeObject): OwnerReference {
  return podControlRef(owner, owner.apiVersion ?? '', owner.kind ?? '');
}

/** Succeeded or Failed: the pod will not run again. */
export function isPodTerminal(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase === 'Succeeded' || phase === 'Failed';
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
