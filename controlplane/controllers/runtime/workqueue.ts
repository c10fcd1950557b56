// A rate-limited work queue of keys, as client-go's: a key is queued at most
// once, a key being processed is not handed to a second worker (it is
// queued again when done if it changed meanwhile), and failures come back
// after a per-key exponential backoff.

export interface WorkQueueMetrics {
  depth?(n: number): void;
  add?(): void;
  retry?(): void;
  /** Seconds a key spent being processed. */
  workDuration?(seconds: number): void;
}

/** Set only while withWorkQueueMetrics runs its build function. */
let currentProvider: ((name: string) => WorkQueueMetrics) | undefined;

/**
 * Runs build (synchronously) so that every WorkQueue constructed inside it
 * without its own metrics gets provider(name): controllers create their
 * queues as fields, and the controller manager wraps their construction in
 * this, so per-process metrics reach them without every controller taking an
 * option, and two managers in one process keep their own.
 */
export function withWorkQueueMetrics<T>(
  provider: ((name: string) => WorkQueueMetrics) | undefined,
  build: () => T,
): T {
  const previous = currentProvider;
  currentProvider = provider;
  try {
    return build();
  } finally {
    currentProvider = previous;
  }
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly started = new Map<string, number>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(
    readonly name: string,
    private readonly opts: {
      baseDelayMs?: number;
      maxDelayMs?: number;
      metrics?: WorkQueueMetrics;
    } = {},
  ) {
    if (!opts.metrics && currentProvider) this.opts = { ...opts, metrics: currentProvider(name) };
  }

  get length(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.opts.metrics?.add?.();
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      this.started.set(key, Date.now());
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.opts.metrics?.depth?.(this.queue.length);
  }

  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, ms),
    );
  }

  /** Queues the key again after its backoff: 5 ms doubling per failure, capped. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.opts.metrics?.retry?.();
    const delay = Math.min((this.opts.baseDelayMs ?? 5) * 2 ** n, this.opts.maxDelayMs ?? 60_000);
    this.addAfter(key, delay);
  }

  /** The key succeeded: its backoff starts over. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key, waiting for one; undefined once the queue shuts down. */
  async get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      this.started.set(key, Date.now());
      this.opts.metrics?.depth?.(this.queue.length);
      return key;
    }
    if (this.shuttingDown) return undefined;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Processing of key finished; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    const t = this.started.get(key);
    if (t !== undefined) this.opts.metrics?.workDuration?.((Date.now() - t) / 1000);
    this.started.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiters) w(undefined);
    this.waiters = [];
  }
}
