// Keys that expire on their own, as kube-apiserver expires Events
// (--event-ttl): every write of such a key attaches an etcd lease, and etcd
// deletes the key when the lease runs out; a later write attaches a newer
// lease, so the TTL counts from the last write (an aggregated event lives on
// while it keeps repeating).
//
// Granting a lease per write would double the writes and leave etcd a lease
// per key to track. Like kube-apiserver's leaseManager, writes share a lease
// for a short reuse window (5% of the TTL, at most a minute): the lease is
// granted for TTL + window, and reused while it still has at least TTL left.
// A key so lives between TTL and TTL + window after its last write.
//
// Why a lease rather than a leader-run sweeper deleting old events: etcd does
// the deleting itself, with no list of every event per sweep and no window
// where no leader runs; deletions show up in watches like any other.

export interface ExpiringPrefix {
  /** Keys under this prefix get a lease, e.g. "/registry/events/". */
  prefix: string;
  ttlSeconds: number;
}

/** How long one lease is handed out, given the TTL: 5% of it, between 1 s and 60 s. */
export function leaseReuseSeconds(ttlSeconds: number): number {
  return Math.min(60, Math.max(1, Math.ceil(ttlSeconds * 0.05)));
}

interface Granted {
  id: string;
  /** When etcd lets the lease expire (ms since the epoch). */
  expiresAt: number;
}

/** Hands out the lease for writes of one TTL; grants a new one when the current is too old. */
export class LeaseManager {
  private current: Granted | undefined;
  private granting: Promise<Granted> | undefined;
  private readonly reuse: number;

  constructor(
    readonly ttlSeconds: number,
    private readonly grant: (ttlSeconds: number) => Promise<string>,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1)
      throw new Error(`lease TTL must be a whole number of seconds ≥ 1, got ${ttlSeconds}`);
    this.reuse = leaseReuseSeconds(ttlSeconds);
  }

  /** The lease ID to attach to a write now. */
  async lease(): Promise<string> {
    const c = this.current;
    if (c && c.expiresAt - this.now() >= this.ttlSeconds * 1000) return c.id;
    // One grant at a time: a burst of writes shares it.
    this.granting ??= (async () => {
      const ttl = this.ttlSeconds + this.reuse;
      const started = this.now();
      const id = await this.grant(ttl);
      return { id, expiresAt: started + ttl * 1000 };
    })().finally(() => {
      this.granting = undefined;
    });
    const g = await this.granting;
    this.current = g;
    return g.id;
  }
}
