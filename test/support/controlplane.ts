// An in-process control plane for tests: a test etcd, a temp data dir, the API
// on a free loopback port over HTTPS, and a kubeconfig that kubectl and
// client-node use unchanged. stop() removes everything it made.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import {
  startControlplane,
  type RunningControlplane,
} from '../../controlplane/cmd/controlplane.js';
import { startEtcd, type TestEtcd } from './etcd.js';

export interface TestControlplane extends RunningControlplane {
  dataDir: string;
  etcd: TestEtcd;
}

export async function startTestControlplane(
  opts: {
    etcd?: TestEtcd;
    agentListen?: string;
    nodeMonitorGracePeriodMs?: number;
    podEvictionTimeoutMs?: number;
    leaderLeaseTtlSeconds?: number;
    /** Scheduler and controllers; off by default so API tests see only what they write. */
    controllers?: boolean;
    /** host:port of the plain-HTTP /metrics listener (port 0: any free port). */
    metricsListen?: string;
  } = {},
): Promise<TestControlplane> {
  const etcd = opts.etcd ?? (await startEtcd());
  const dataDir = await mkdtemp(join(tmpdir(), 'shoal-cp-'));
  try {
    const running = await startControlplane({
      dataDir,
      listen: '127.0.0.1:0',
      agentListen: opts.agentListen ?? '127.0.0.1:0',
      runControllers: opts.controllers ?? false,
      ...(opts.nodeMonitorGracePeriodMs
        ? { nodeMonitorGracePeriodMs: opts.nodeMonitorGracePeriodMs }
        : {}),
      ...(opts.podEvictionTimeoutMs ? { podEvictionTimeoutMs: opts.podEvictionTimeoutMs } : {}),
      ...(opts.leaderLeaseTtlSeconds ? { leaderLeaseTtlSeconds: opts.leaderLeaseTtlSeconds } : {}),
      etcdEndpoints: etcd.endpoints,
      ...(opts.metricsListen ? { metricsListen: opts.metricsListen } : {}),
      logger: pino({ level: process.env.SHOAL_TEST_LOG ?? 'silent' }),
    });
    return {
      ...running,
      dataDir,
      etcd,
      stop: async () => {
        await running.stop();
        if (!opts.etcd) await etcd.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (!opts.etcd) await etcd.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
