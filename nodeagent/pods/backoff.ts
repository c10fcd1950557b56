// CrashLoopBackOff: the kubelet's per-container restart back-off
// (flowcontrol.Backoff as kubeGenericRuntimeManager.doBackOff uses it, with
// the kubelet's 10 s initial and 300 s maximum). The first restart of an
// exited container is immediate and opens a 10 s window; each restart after
// that doubles the window, up to 5 minutes. A container that stays up for
// twice the maximum (10 minutes) starts again from 10 s.
//
// Windows count from the container's finishedAt, so an agent restart does
// not shorten them; keys should be stable per pod and container
// (the kubelet uses name_namespace_uid_container_hash).

export const INITIAL_BACKOFF_MS = 10_000;
export const MAX_BACKOFF_MS = 300_000;

interface Entry {
  backoffMs: number;
  /** When the window was last extended (a restart was allowed). */
  lastUpdate: number;
}

export type RestartDecision =
  | { restart: true }
  /** Wait `remainingMs`; `backoffMs` is the window, for the CrashLoopBackOff message. */
  | { restart: false; backoffMs: number; remainingMs: number };

export class RestartBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly initialMs = INITIAL_BACKOFF_MS,
    private readonly maxMs = MAX_BACKOFF_MS,
  ) {}

  /**
   * doBackOff: may the container, which exited at finishedAt, be restarted
   * now? A yes records the restart (the next window doubles).
   */
  shouldRestart(key: string, finishedAt: number, now: number): RestartDecision {
    if (this.isInBackOffSince(key, finishedAt, now)) {
      const backoffMs = this.get(key);
      return { restart: false, backoffMs, remainingMs: finishedAt + backoffMs - now };
    }
    this.next(key, now, finishedAt);
    return { restart: true };
  }

  /** Backoff.IsInBackOffSince: is `now` still inside the window that began at eventTime? */
  isInBackOffSince(key: string, eventTime: number, now: number): boolean {
    const entry = this.entries.get(key);
    if (!entry || this.hasExpired(eventTime, entry.lastUpdate)) return false;
    return now - eventTime < entry.backoffMs;
  }

  /**
   * Backoff.Next: opens the first window, or doubles the current one (capped);
   * a key whose last window is older than twice the maximum starts over.
   * Returns the new window in ms.
   */
  next(key: string, now: number, eventTime = now): number {
    const entry = this.entries.get(key);
    const backoffMs =
      !entry || this.hasExpired(eventTime, entry.lastUpdate)
        ? this.initialMs
        : Math.min(entry.backoffMs * 2, this.maxMs);
    this.entries.set(key, { backoffMs, lastUpdate: now });
    return backoffMs;
  }

  /** The current window in ms; 0 when the key has none. */
  get(key: string): number {
    return this.entries.get(key)?.backoffMs ?? 0;
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /**
   * A container that has been running since startedAt: once it has run
   * twice the maximum window (10 minutes), its next crash starts from 10 s.
   */
  noteRunning(key: string, startedAt: number, now: number): void {
    if (now - startedAt > 2 * this.maxMs) this.entries.delete(key);
  }

  /** Backoff.GC: forgets keys untouched for twice the maximum window. */
  gc(now: number): void {
    for (const [key, entry] of this.entries)
      if (now - entry.lastUpdate > 2 * this.maxMs) this.entries.delete(key);
  }

  private hasExpired(eventTime: number, lastUpdate: number): boolean {
    return eventTime - lastUpdate > 2 * this.maxMs;
  }
}

/** Go's time.Duration String for whole seconds: 10s, 1m20s, 5m0s. */
export function formatBackoff(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${s % 60}s`;
}

/**
 * The kubelet's CrashLoopBackOff waiting message, e.g.
 * `back-off 20s restarting failed container=web pod=web-1_default(uid)`.
 */
export function crashLoopMessage(
  backoffMs: number,
  container: string,
  pod: { name?: string; namespace?: string; uid?: string },
): string {
  return `back-off ${formatBackoff(backoffMs)} restarting failed container=${container} pod=${pod.name ?? ''}_${pod.namespace ?? ''}(${pod.uid ?? ''})`;
}
