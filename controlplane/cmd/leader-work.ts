// What runs only on the elected replica, in two parts with a lease each, as
// kube-scheduler and kube-controller-manager each have theirs: the
// scheduler, and every other controller. startLeaderWork campaigns for the
// part's lease and runs its ControllerManager while this replica leads.

import type { Logger } from 'pino';
import type { Registry } from '../api/registry/registry.js';
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
import type { ControlPlaneMetrics } from '../metrics/controlplane-metrics.js';

export type LeaderPart = 'scheduler' | 'controllers';

/** Each part's lease name. */
export const LEASE_NAMES: Record<LeaderPart, string> = {
  scheduler: 'shoal-scheduler',
  controllers: 'shoal-controllers',
};

/** Plain data, so a worker thread can be given it. */
export interface LeaderWorkConfig {
  endpoints: string[];
  /** The lease holder's name: unique per replica (hostname, pid, random). */
  identity: string;
  leaderLeaseTtlSeconds: number;
  nodeMonitorGracePeriodMs?: number;
  podEvictionTimeoutMs?: number;
  nodeEvictionRate?: number;
}

export interface LeaderWork {
  /** True while this replica holds the part's lease. */
  readonly isLeader: boolean;
  /** True while its controllers run: leader, caches synced. */
  readonly controllersRunning: boolean;
  /** Resigns (another replica takes over at once) and stops the controllers. */
  stop(): Promise<void>;
}

function factories(
  part: LeaderPart,
  config: LeaderWorkConfig,
  metrics: ControlPlaneMetrics,
): ControllerFactory[] {
  if (part === 'scheduler') {
    return [(deps) => new Scheduler(deps, { metrics: metrics.schedulerMetrics })];
  }
  return [
    (deps) =>
      new NodeLifecycleController(deps, {
        ...(config.nodeMonitorGracePeriodMs
          ? { monitorGracePeriodMs: config.nodeMonitorGracePeriodMs }
          : {}),
        ...(config.podEvictionTimeoutMs
          ? { podEvictionTimeoutMs: config.podEvictionTimeoutMs }
          : {}),
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
}

/** Campaigns for the part's lease at once; onChange hears every change of leadership or running. */
export function startLeaderWork(opts: {
  part: LeaderPart;
  config: LeaderWorkConfig;
  registry: Registry;
  metrics: ControlPlaneMetrics;
  log: Logger;
  onChange?: () => void;
}): LeaderWork {
  const { part, config, metrics, log } = opts;
  const scheduler = part === 'scheduler';
  const manager = new ControllerManager({
    registry: opts.registry,
    logger: log.child({ component: scheduler ? 'scheduler' : 'controller-manager' }),
    controllers: factories(part, config, metrics),
    workQueueMetrics: (name) => metrics.workQueueMetrics(name),
    ...(scheduler ? { component: 'default-scheduler' } : {}),
  });
  // The manager's start or stop, with the change heard before and after it.
  const transition = (op: () => Promise<void>) => async (): Promise<void> => {
    opts.onChange?.();
    try {
      await op();
    } finally {
      opts.onChange?.();
    }
  };
  const elector = new LeaderElector({
    endpoints: config.endpoints,
    name: LEASE_NAMES[part],
    identity: config.identity,
    ttlSeconds: config.leaderLeaseTtlSeconds,
    logger: log.child({ component: 'leader-election', lease: LEASE_NAMES[part] }),
    onStartedLeading: transition(() => manager.start()),
    onStoppedLeading: transition(() => manager.stop()),
  });
  metrics.setLeaderElector(elector, LEASE_NAMES[part]);
  elector.start();
  return {
    get isLeader() {
      return elector.isLeader;
    },
    get controllersRunning() {
      return manager.isRunning;
    },
    stop: async () => {
      await elector.stop();
      await manager.stop();
    },
  };
}
