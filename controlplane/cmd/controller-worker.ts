// Entry of a controller thread (controller-thread.ts): its own etcd client
// and Registry — the same code paths another control-plane replica uses —
// then the parts of the leader's work it was given (leader-work.ts), each
// running while this replica holds that part's lease.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { pino } from 'pino';
import { EtcdStore } from '../store/etcd-store.js';
import { Registry } from '../api/registry/registry.js';
import { startLeaderWork, type LeaderWork } from './leader-work.js';
import { ControlPlaneMetrics } from '../metrics/controlplane-metrics.js';
import type { ControllerThreadConfig, MainMessage, WorkerMessage } from './controller-thread.js';

if (!parentPort)
  throw new Error('controller-worker runs as a worker thread of `shoal controlplane`');
const port: MessagePort = parentPort;
const send = (msg: WorkerMessage): void => port.postMessage(msg);

const config = workerData as ControllerThreadConfig;
const log = pino({ name: 'controlplane', level: config.logLevel });
// Only the series this thread feeds have values; the main thread sums them into its own.
const metrics = new ControlPlaneMetrics();
const store = new EtcdStore({
  endpoints: config.endpoints,
  metrics: metrics.etcdMetrics,
  ...(config.eventTtlSeconds > 0
    ? { expiring: [{ prefix: '/registry/events/', ttlSeconds: config.eventTtlSeconds }] }
    : {}),
});
const registry = new Registry(store, undefined, {
  ...(config.serviceCidr ? { serviceCidr: config.serviceCidr } : {}),
});

const work: LeaderWork[] = [];
/** Any part leads; every leading part runs (its caches synced). */
const reportLeading = (): void =>
  send({
    type: 'leading',
    isLeader: work.some((w) => w.isLeader),
    running: work.every((w) => !w.isLeader || w.controllersRunning),
  });

async function stop(): Promise<void> {
  // Resigns first, so another replica takes over at once; then the store closes.
  for (const w of work) await w.stop();
  await registry.stopNamespaceCache();
  await store.close();
  port.close();
}

port.on('message', (msg: MainMessage) => {
  if (msg.type === 'metrics') {
    metrics.registry.getMetricsAsJSON().then(
      (values) => send({ type: 'metrics', id: msg.id, metrics: values }),
      (err: unknown) => {
        log.warn({ err }, 'collecting metrics failed');
        send({ type: 'metrics', id: msg.id, metrics: [] });
      },
    );
  } else {
    stop().catch((err: unknown) => {
      log.error({ err }, 'controller thread did not stop cleanly');
      process.exit(1);
    });
  }
});

try {
  // Creates check the namespace in this cache, as in the main thread.
  await registry.startNamespaceCache();
  for (const part of config.parts) {
    work.push(startLeaderWork({ part, config, registry, metrics, log, onChange: reportLeading }));
  }
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  await store.close().catch(() => undefined);
  port.close();
}
