// Runs a set of controllers as one unit, as kube-controller-manager does:
// one InformerFactory (so each kind is listed and watched once however many
// controllers read it) and one EventRecorder, built afresh on every start.
// The leader elector drives it: start() when this replica is elected,
// stop() the moment leadership is lost; then start() again on re-election.
// Starting anew each time means no cache, queue or timer outlives a term.

import type { Logger } from 'pino';
import type { Registry } from '../api/registry/registry.js';
import { EventRecorder } from './runtime/events.js';
import { InformerFactory } from './runtime/factory.js';
import { withWorkQueueMetrics, type WorkQueueMetrics } from './runtime/workqueue.js';
import type { Controller, ControllerDeps } from './types.js';

/** Builds one controller; it asks deps.informers for the caches it reads. */
export type ControllerFactory = (deps: ControllerDeps) => Controller;

export interface ControllerManagerOptions {
  registry: Registry;
  logger?: Logger;
  controllers: ControllerFactory[];
  /** The Events' source component. */
  component?: string;
  /** Metrics hooks for each controller's work queue, by the queue's name. */
  workQueueMetrics?: (name: string) => WorkQueueMetrics;
}

interface Running {
  informers: InformerFactory;
  controllers: Controller[];
}

export class ControllerManager {
  private running: Running | undefined;
  /**
   * start() and stop() run one after the other in call order, so a stop that
   * arrives while a start is still syncing caches waits for it and then undoes
   * it, instead of racing it.
   */
  private chain: Promise<void> = Promise.resolve();
  private readonly log: Logger | undefined;

  constructor(private readonly opts: ControllerManagerOptions) {
    this.log = opts.logger;
  }

  /** True between a start() that finished and the next stop(). */
  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /**
   * Builds every controller, starts the informers they asked for, waits for
   * the caches to fill, then starts the controllers. If anything fails, what
   * was started is stopped again and the error is thrown. A second start()
   * without stop() does nothing.
   */
  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  /** Stops the controllers, then the informers. Safe to call when not running. */
  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.chain.then(op);
    // The chain must go on after a failure; the caller still sees it.
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async doStart(): Promise<void> {
    if (this.running) return;
    const component = this.opts.component ?? 'controller-manager';
    const informers = new InformerFactory(this.opts.registry, this.log);
    const events = new EventRecorder(this.opts.registry, component, this.log);
    const deps: ControllerDeps = {
      registry: this.opts.registry,
      informers,
      events,
      ...(this.log ? { logger: this.log } : {}),
    };
    const controllers = withWorkQueueMetrics(this.opts.workQueueMetrics, () =>
      this.opts.controllers.map((make) => make(deps)),
    );
    const started: Controller[] = [];
    try {
      // InformerFactory.start resolves once every cache has listed: synced.
      await informers.start();
      for (const c of controllers) {
        await c.start();
        started.push(c);
        this.log?.info({ controller: c.name }, 'controller started');
      }
    } catch (err) {
      await stopAll(started, this.log);
      await informers.stop().catch(() => undefined);
      throw err;
    }
    this.running = { informers, controllers };
  }

  private async doStop(): Promise<void> {
    const r = this.running;
    if (!r) return;
    this.running = undefined;
    // Controllers first, so none acts on a cache that stopped changing.
    await stopAll(r.controllers, this.log);
    await r.informers.stop();
    this.log?.info('controllers stopped');
  }
}

/** Stops each in reverse start order; one failing does not keep the others running. */
async function stopAll(controllers: Controller[], log: Logger | undefined): Promise<void> {
  for (const c of [...controllers].reverse()) {
    try {
      await c.stop();
    } catch (err) {
      log?.warn({ err, controller: c.name }, 'controller did not stop cleanly');
    }
  }
}
