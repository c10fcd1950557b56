// Entry of the controller thread (controller-thread.ts): its own etcd client
// and Registry — the same code paths another control-plane replica uses —
// then the leader elector, which starts the scheduler and the controllers
// while this replica leads and stops them the moment it does not.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { pino } from 'pino';
import { EtcdStore } from '../store/etcd-store.js';
import { Registry } from '../api/registry/registry.js';
import { ControllerManager, type ControllerFactory } from '../controllers/manager.js';
import { NodeLifecycleController } from '../controllers/node-lifecycle.js';
import { DaemonSetController } from '../controllers/daemonset.js';
import { StatefulSetController } from '../controllers/statefulset.js';
import { PersistentVolumeController } from '../controllers/persistent-volume.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { ReplicaSetController } from '../controllers/replicaset.js';
import { DeploymentController } from '../controllers/deployment.js';
import { JobController } from '../controllers/job.js';
import { GarbageCollector } from '../controllers/garbage-collector.js';
import { EndpointsController } from '../controllers/endpoints.js';
import { LeaderElector } from '../leader/election.js';
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

const controllers: ControllerFactory[] = [
  (deps) => new Scheduler(deps, { metrics: metrics.schedulerMetrics }),
  (deps) =>
    new NodeLifecycleController(deps, {
      ...(config.nodeMonitorGracePeriodMs
        ? { monitorGracePeriodMs: config.nodeMonitorGracePeriodMs }
        : {}),
      ...(config.podEvictionTimeoutMs ? { podEvictionTimeoutMs: config.podEvictionTimeoutMs } : {}),
      ...(config.nodeEvictionRate ? { nodeEvictionRate: config.nodeEvictionRate } : {}),
    }),
  (deps) => new DeploymentController(deps),
  (deps) => new ReplicaSetController(deps),
  (deps) => new DaemonSetController(deps),
  (deps) => new StatefulSetController(deps),
  (deps) => new PersistentVolumeController(deps),
  (deps) => new JobController(deps),
  (deps) => new EndpointsController(deps),
  (deps) => new GarbageCollector(deps),
];
const manager = new ControllerManager({
  registry,
  logger: log.child({ component: 'controller-manager' }),
  controllers,
  workQueueMetrics: (name) => metrics.workQueueMetrics(name),
});

const reportLeading = (): void =>
  send({ type: 'leading', isLeader: elector.isLeader, running: manager.isRunning });
const elector: LeaderElector = new LeaderElector({
  endpoints: config.endpoints,
  name: 'shoal-controllers',
  identity: config.identity,
  ttlSeconds: config.leaderLeaseTtlSeconds,
  logger: log.child({ component: 'leader-election' }),
  onStartedLeading: async () => {
    reportLeading();
    try {
      await manager.start();
    } finally {
      reportLeading();
    }
  },
  onStoppedLeading: async () => {
    reportLeading();
    try {
      await manager.stop();
    } finally {
      reportLeading();
    }
  },
});
metrics.setLeaderElector(elector, 'shoal-controllers');

async function stop(): Promise<void> {
  // Resigns first, so another replica takes over at once; then the store closes.
  await elector.stop();
  await manager.stop();
  await registry.stopNamespaceCache();
  await store.close();
  send({ type: 'stopped' });
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
  elector.start();
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  await store.close().catch(() => undefined);
  port.close();
}
