// A rate limit that saves up a burst, as client-go's flowcontrol token
// bucket: the node lifecycle controller's eviction rate and the event
// recorder's per-object spam filter.

/** A token bucket on the caller's clock (ms): `rate` tokens per second, at most `burst` saved. */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes a token and returns 0, or returns how many ms until one is there. */
  take(now: number): number {
    // A clock that goes back (a test's, or a replica's after a leader change) refills nothing.
    if (this.last !== undefined && now > this.last)
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = Math.max(this.last ?? now, now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }
}
