// Controller expectations, as client-go's UIDTrackingControllerExpectations:
// a controller that has just asked for N creates or deletes records them
// here, and the informer's handlers count them off as they arrive in the
// cache. Until every one is seen (or the record expires), the controller's
// view of its pods is known to be stale, so it must not act on it again —
// otherwise a second reconcile, reading a cache that does not yet hold the
// first one's pods, would create them twice.

/** How long a record is trusted; after that a lost event cannot wedge a controller (kube: 5 min). */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Expectation {
  adds: number;
  dels: number;
  /** Keys of the pods whose deletion is awaited, so each is counted once (a graceful delete is seen twice). */
  deleting: Set<string>;
  setAt: number;
}

export class ControllerExpectations {
  private readonly records = new Map<string, Expectation>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * True when the controller may act on key: nothing is awaited, or the
   * record has expired, or there is no record at all (a new controller).
   */
  satisfied(key: string): boolean {
    const r = this.records.get(key);
    if (!r) return true;
    if (r.adds <= 0 && r.dels <= 0) return true;
    return this.now() - r.setAt > EXPECTATIONS_TIMEOUT_MS;
  }

  /** Replaces key's record: n creates are awaited. */
  expectCreations(key: string, n: number): void {
    this.records.set(key, { adds: n, dels: 0, deleting: new Set(), setAt: this.now() });
  }

  /** Replaces key's record: the deletion of each pod named in podKeys is awaited. */
  expectDeletions(key: string, podKeys: readonly string[]): void {
    this.records.set(key, {
      adds: 0,
      dels: podKeys.length,
      deleting: new Set(podKeys),
      setAt: this.now(),
    });
  }

  /** One awaited create arrived (or will never arrive because it failed). */
  creationObserved(key: string): void {
    const r = this.records.get(key);
    if (r) r.adds--;
  }

  /** The pod podKey is gone or going; counts only if its deletion was awaited. */
  deletionObserved(key: string, podKey: string): void {
    const r = this.records.get(key);
    if (!r || !r.deleting.delete(podKey)) return;
    r.dels--;
  }

  /** Forgets key, e.g. when its controller object is deleted. */
  delete(key: string): void {
    this.records.delete(key);
  }

  /** What is still awaited for key (for logs and tests). */
  pending(key: string): { adds: number; dels: number } | undefined {
    const r = this.records.get(key);
    return r ? { adds: r.adds, dels: r.dels } : undefined;
  }
}
