// `shoal agent`: one per host. Joins once (token → node certificate), then
// holds the stream to the control plane: registers with what it runs,
// receives the pods bound to its node, runs them with runc, and reports their
// status. Everything it needs to carry on after a restart is on disk under
// its data directory; the containers never depend on the agent process.

import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ImagePuller } from './images/puller.js';
import { PodNetwork } from './network/pod-network.js';
import { Runc } from './runtime/runc.js';
import { RestartBackoff } from './pods/backoff.js';
import { PodManager } from './pods/pod-manager.js';
import type { DesiredPodInput } from './pods/pod-worker.js';
import { AgentConnection } from './connection.js';
import { ensureNodeCredentials } from './join.js';
import { serveLogs } from './logs.js';
import { capacity, goArch, nodeInfo, primaryIPv4 } from './host.js';
import type { DesiredPod__Output } from '../proto/generated/shoal/agent/v1/DesiredPod.js';
import type { Register } from '../proto/generated/shoal/agent/v1/Register.js';
import type { KubeObject } from '../controlplane/api/objects.js';

export interface AgentOptions {
  server: string;
  token: string;
  dataDir: string;
  nodeName: string;
  nodeLabels?: Record<string, string>;
  taints?: { key: string; value: string; effect: string }[];
  /** Held back from allocatable for the system. */
  reserved?: { cpuMillis: number; memoryBytes: number };
  /** Overrides the pod CIDR the control plane assigns. */
  podCidr?: string;
  /** The address other hosts reach this one by (default: the first IPv4 of this netns). */
  nodeIP?: string;
  insecureRegistries?: string[];
  heartbeatMs?: number;
  logger?: Logger;
}

export interface RunningAgent {
  nodeName: string;
  pods: PodManager;
  connected(): boolean;
  /** Stops the agent process's work; running containers stay (as on a crash or upgrade). */
  stop(): Promise<void>;
}

function parsePod(p: DesiredPod__Output): DesiredPodInput {
  const parse = (list: string[]): KubeObject[] => list.map((j) => JSON.parse(j) as KubeObject);
  return {
    pod: JSON.parse(p.pod_json) as KubeObject,
    configMaps: parse(p.config_maps_json),
    secrets: parse(p.secrets_json),
    pullSecrets: parse(p.pull_secrets_json),
  };
}

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.logger;
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const credentials = await ensureNodeCredentials({
    dataDir,
    server: opts.server,
    token: opts.token,
    nodeName: opts.nodeName,
  });
  const hostIP = opts.nodeIP ?? primaryIPv4() ?? '127.0.0.1';
  let network: PodNetwork | undefined;
  const makeNetwork = (podCidr: string): void => {
    if (network?.podCidr === podCidr) return;
    network = new PodNetwork({
      agentName: opts.nodeName,
      podCidr,
      dataDir: join(dataDir, 'network'),
      ...(log ? { logger: log.child({ component: 'network' }) } : {}),
    });
  };
  if (opts.podCidr) makeNetwork(opts.podCidr);

  // The pod manager reports through the connection, which needs the pod manager to register.
  const link: { connection?: AgentConnection } = {};
  const pods = new PodManager({
    nodeName: opts.nodeName,
    hostIP,
    podsDir: join(dataDir, 'pods'),
    cgroupParent: `/shoal-${opts.nodeName}`,
    runc: new Runc({
      root: join(dataDir, 'runc'),
      stateDir: join(dataDir, 'runc-monitor'),
      ...(log ? { logger: log } : {}),
    }),
    images: new ImagePuller({
      root: join(dataDir, 'images'),
      insecureRegistries: opts.insecureRegistries ?? [],
      ...(log ? { logger: log.child({ component: 'images' }) } : {}),
    }),
    network: () => network,
    backoff: new RestartBackoff(),
    ...(log ? { logger: log.child({ component: 'pods' }) } : {}),
    report: (pod, status) => {
      link.connection?.send({ pod_status: { ...pod, status_json: JSON.stringify(status) } });
    },
    terminated: (pod) => {
      link.connection?.send({ pod_terminated: pod });
    },
  });
  await pods.restore();

  const total = capacity();
  const reserved = opts.reserved ?? { cpuMillis: 0, memoryBytes: 0 };
  const info = await nodeInfo();
  const connection = new AgentConnection({
    server: opts.server,
    credentials,
    heartbeatMs: opts.heartbeatMs ?? 5000,
    ...(log ? { logger: log.child({ component: 'connection' }) } : {}),
    handlers: {
      registration: async (): Promise<Register> => ({
        node_name: opts.nodeName,
        labels: {
          'kubernetes.io/hostname': opts.nodeName,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': goArch(),
          ...opts.nodeLabels,
        },
        taints: opts.taints ?? [],
        capacity: {
          cpu_millis: total.cpuMillis,
          memory_bytes: total.memoryBytes,
          pods: total.pods,
        },
        allocatable: {
          cpu_millis: Math.max(0, total.cpuMillis - reserved.cpuMillis),
          memory_bytes: Math.max(0, total.memoryBytes - reserved.memoryBytes),
          pods: total.pods,
        },
        addresses: [
          { type: 'InternalIP', address: hostIP },
          { type: 'Hostname', address: opts.nodeName },
        ],
        node_info: info,
        pods: pods.running(),
      }),
      onRegistered: (ack) => {
        if (!opts.podCidr && ack.pod_cidr) makeNetwork(ack.pod_cidr);
        log?.info({ node: opts.nodeName, podCidr: network?.podCidr }, 'registered');
      },
      onDesired: (list) => pods.setDesired(list.map(parsePod)),
      onUpsert: (p) => pods.upsert(parsePod(p)),
      onDelete: (p) => pods.delete(JSON.parse(p.pod_json) as KubeObject),
      onLogRequest: (req) => {
        serveLogs(req, pods, () => connection.openLogStream()).catch((err: unknown) =>
          log?.warn({ err }, 'serving logs failed'),
        );
      },
    },
  });
  link.connection = connection;
  pods.start();
  connection.start();
  return {
    nodeName: opts.nodeName,
    pods,
    connected: () => connection.connected,
    stop: async () => {
      await connection.stop();
      await pods.stop();
    },
  };
}
