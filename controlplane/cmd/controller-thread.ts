// The leader's work — the scheduler and the controllers, each with its own
// lease (leader-work.ts) — runs in a worker thread of the control-plane
// process, as kube-scheduler and kube-controller-manager run beside
// kube-apiserver rather than inside it. The worker has its own event loop,
// heap and etcd client, so informers, scheduling and writes use the second
// core while the main thread serves the API and the agent gateway. It talks
// to etcd as another replica would (controller-worker.ts); the main thread
// only mirrors its leadership for /readyz and merges its metrics into
// /metrics.
//
// One worker for both parts, not one each: a thread of its own let the
// scheduler keep up with pod creation (p99 create→bind 2–7 s instead of 14 s
// at 1,000 hollow nodes), but a third heap and a third decode of every pod
// event cost 15–25 % of the throughput and put the process over 1.2 GiB.

import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { LeaderPart, LeaderWork, LeaderWorkConfig } from './leader-work.js';

/** What the worker needs; plain data (structured-cloned). */
export interface ControllerThreadConfig extends LeaderWorkConfig {
  /** Each with its own lease. */
  parts: LeaderPart[];
  serviceCidr?: string;
  eventTtlSeconds: number;
  /** pino level of the worker's logger. */
  logLevel: string;
}

export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** Worker → main. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'leading'; isLeader: boolean; running: boolean }
  | { type: 'metrics'; id: number; metrics: WorkerMetrics };

/** Main → worker. */
export type MainMessage = { type: 'metrics'; id: number } | { type: 'stop' };

/** How long a worker that died unexpectedly waits before it is started again. */
const RESTART_DELAY_MS = 1000;
/** A stop that takes longer than this ends the worker by force. */
const STOP_TIMEOUT_MS = 30_000;

/**
 * The worker's entry: the compiled .js next to this file, or under vitest
 * (which runs the TypeScript sources) the .ts through tsx's loader.
 */
function spawnWorker(config: ControllerThreadConfig): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(
    fromSource ? './controller-worker.ts' : './controller-worker.js',
    import.meta.url,
  );
  if (!fromSource) return new Worker(entry, { workerData: config });
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData: config });
}

export class ControllerThread implements LeaderWork {
  private worker: Worker | undefined;
  private leading = { isLeader: false, running: false };
  private readonly pendingMetrics = new Map<number, (m: WorkerMetrics) => void>();
  private nextId = 0;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly config: ControllerThreadConfig,
    private readonly log: Logger,
  ) {}

  /** Starts the worker and resolves once it campaigns (its etcd client and caches are up). */
  static async start(config: ControllerThreadConfig, log: Logger): Promise<ControllerThread> {
    const thread = new ControllerThread(config, log);
    await thread.spawn(true);
    return thread;
  }

  /** True while this replica's worker holds a lease (one of its parts leads). */
  get isLeader(): boolean {
    return this.leading.isLeader;
  }

  /** True while every part that leads runs: caches synced. */
  get controllersRunning(): boolean {
    return this.leading.running;
  }

  /** The worker's metric values (scheduler, work queues, its etcd calls, leadership). */
  metrics(): Promise<WorkerMetrics> {
    const worker = this.worker;
    if (!worker) return Promise.resolve([]);
    const id = this.nextId++;
    return new Promise((resolve) => {
      // A worker that exits before answering answers nothing; the scrape goes on.
      const timer = setTimeout(() => {
        this.pendingMetrics.delete(id);
        resolve([]);
      }, 5000);
      this.pendingMetrics.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      worker.postMessage({ type: 'metrics', id } satisfies MainMessage);
    });
  }

  /** Resigns leadership (another replica takes over at once) and ends the worker. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'stop' } satisfies MainMessage);
    const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  /** initial: a failure to start is start()'s error; later ones are retried. */
  private spawn(initial: boolean): Promise<void> {
    const worker = spawnWorker(this.config);
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on('message', (msg: WorkerMessage) => {
        switch (msg.type) {
          case 'ready':
            started = true;
            resolve();
            break;
          case 'failed':
            reject(new Error(`controller thread: ${msg.message}`));
            break;
          case 'leading':
            this.leading = { isLeader: msg.isLeader, running: msg.running };
            break;
          case 'metrics':
            this.pendingMetrics.get(msg.id)?.(msg.metrics);
            this.pendingMetrics.delete(msg.id);
            break;
        }
      });
      worker.on('error', (err) => {
        this.log.error({ err }, 'controller thread failed');
        if (!started) reject(err);
      });
      worker.on('exit', (code) => {
        if (this.worker === worker) this.worker = undefined;
        this.leading = { isLeader: false, running: false };
        if (!started)
          reject(new Error(`controller thread exited with code ${code} while starting`));
        if (this.stopping || (initial && !started)) return;
        // Its lease lapses, so another replica (or this one, restarted) takes over.
        this.log.error({ code }, 'controller thread exited; starting it again');
        this.restartTimer = setTimeout(() => {
          this.spawn(false).catch((err: unknown) =>
            this.log.error({ err }, 'controller thread did not start again'),
          );
        }, RESTART_DELAY_MS);
      });
    });
  }
}
