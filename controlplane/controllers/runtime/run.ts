// The worker loop every controller shares (sample-controller's
// runWorker/processNextWorkItem): take a key, reconcile it, and on failure
// queue it again with backoff; a key that keeps failing is dropped after
// maxRetries and picked up again by the next change or resync.

import type { Logger } from 'pino';
import type { WorkQueue } from './workqueue.js';

export interface Reconciler {
  readonly name: string;
  /** Compares desired with actual for one key and converges them. Idempotent. */
  reconcile(key: string): Promise<void>;
}

export function runWorkers(
  queue: WorkQueue,
  reconciler: Reconciler,
  opts: { workers?: number; maxRetries?: number; logger?: Logger } = {},
): Promise<void> {
  const maxRetries = opts.maxRetries ?? 15;
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await reconciler.reconcile(key);
        queue.forget(key);
      } catch (err) {
        if (queue.retries(key) < maxRetries) {
          opts.logger?.debug(
            { err, key, controller: reconciler.name },
            'reconcile failed; retrying',
          );
          queue.addRateLimited(key);
        } else {
          opts.logger?.warn(
            { err, key, controller: reconciler.name },
            'reconcile failed; giving up',
          );
          queue.forget(key);
        }
      } finally {
        queue.done(key);
      }
    }
  };
  return Promise.all(Array.from({ length: opts.workers ?? 1 }, worker)).then(() => undefined);
}

/**
 * runWorkers with its lifetime, as every controller holds it: start() once
 * (a second start is a no-op), stop() shuts the queue down and waits for the
 * workers to finish what they hold.
 */
export class Workers {
  private running: Promise<void> | undefined;

  constructor(
    private readonly queue: WorkQueue,
    private readonly reconciler: Reconciler,
  ) {}

  start(opts: { workers?: number; logger?: Logger | undefined } = {}): void {
    this.running ??= runWorkers(this.queue, this.reconciler, {
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  }

  async stop(): Promise<void> {
    this.queue.shutdown();
    await this.running;
  }
}
