// `shoal agent`: one per host. Joins once (token → node certificate), then
// holds the stream to the control plane: registers with what it runs,
// receives the pods bound to its node, runs them with runc, and reports their
// status. Everything it needs to carry on after a restart is on disk under
// its data directory; the containers never depend on the agent process.

import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { PodNetwork } from './network/pod-network.js';
import { ClusterNetworkAgent } from './network/cluster-network.js';
import { RestartBackoff } from './pods/backoff.js';
import { PodManager } from './pods/pod-manager.js';
import type { DesiredPodInput } from './pods/pod-worker.js';
import { AgentConnection } from './connection.js';
import { LocalVolumeCleaner } from './volumes/local.js';
import { ensureNodeCredentials } from './join.js';
import { serveLogs } from './logs.js';
import { EventQueue } from './events.js';
import { ImageGc } from './images/gc.js';
import { capacity, goArch, nodeInfo, primaryIPv4 } from './host.js';
import { AgentMetrics } from './metrics/agent-metrics.js';
import { InstrumentedImagePuller, InstrumentedRunc } from './metrics/instrumented.js';
import { startMetricsServer } from '../controlplane/metrics/metrics-server.js';
import type { DesiredPod__Output } from '../proto/generated/shoal/agent/v1/DesiredPod.js';
import type { Register } from '../proto/generated/shoal/agent/v1/Register.js';
import type { KubeObject } from '../controlplane/api/objects.js';
import { agentPaths } from './paths.js';
import { mountRunDir } from './run-dir.js';

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
  /** The port of this node's cluster DNS server (default 10053); the cluster DNS address is redirected to it. */
  dnsPort?: number;
  /** Image GC thresholds (--image-gc-high-threshold / --image-gc-low-threshold, percent of the disk). */
  imageGcHighThresholdPercent?: number;
  imageGcLowThresholdPercent?: number;
  /**
   * host:port of the plain-HTTP /metrics, /healthz, /livez and /readyz
   * listener (--metrics-listen); unset: none.
   */
  metricsListen?: string;
  /** Where local PersistentVolumes live (--volume-dir; default <dataDir>/volumes). */
  volumeDir?: string;
  logger?: Logger;
}

export interface RunningAgent {
  nodeName: string;
  pods: PodManager;
  connected(): boolean;
  /** Image garbage collection; run() collects now. */
  imageGc: ImageGc;
  /** host:port of the metrics listener, when there is one. */
  metricsAddress?: string;
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
    claims: parse(p.persistent_volume_claims_json ?? []),
    persistentVolumes: parse(p.persistent_volumes_json ?? []),
  };
}

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.logger;
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const paths = agentPaths(dataDir);
  await mountRunDir(paths.run);
  const credentials = await ensureNodeCredentials({
    dataDir,
    server: opts.server,
    token: opts.token,
    nodeName: opts.nodeName,
  });
  const hostIP = opts.nodeIP ?? primaryIPv4() ?? '127.0.0.1';
  const volumeDir = resolve(opts.volumeDir ?? paths.volumes);
  await mkdir(volumeDir, { recursive: true, mode: 0o755 });
  let network: PodNetwork | undefined;
  const makeNetwork = (podCidr: string): void => {
    if (network?.podCidr === podCidr) return;
    network = new PodNetwork({
      agentName: opts.nodeName,
      podCidr,
      dataDir: paths.network,
      ...(log ? { logger: log.child({ component: 'network' }) } : {}),
    });
  };
  if (opts.podCidr) makeNetwork(opts.podCidr);

  // Routes to other nodes, Service rules and the cluster DNS server, in this host's namespace.
  const clusterNetwork = new ClusterNetworkAgent({
    nodeName: opts.nodeName,
    podCidr: () => network?.podCidr,
    ...(opts.dnsPort ? { dnsPort: opts.dnsPort } : {}),
    ...(log ? { logger: log.child({ component: 'cluster-network' }) } : {}),
  });
  await clusterNetwork.start();

  // The pod manager reports through the connection, which needs the pod manager to register.
  const link: { connection?: AgentConnection } = {};
  const cgroupParent = `/shoal-${opts.nodeName}`;
  const metrics = new AgentMetrics(cgroupParent);
  let registered = false;
  // Events wait here while the agent is disconnected; flushed once it has registered.
  const events = new EventQueue({
    send: (event) => link.connection?.send({ event }) ?? false,
    ...(log ? { logger: log.child({ component: 'events' }) } : {}),
  });
  const images = new InstrumentedImagePuller(
    {
      root: paths.images,
      insecureRegistries: opts.insecureRegistries ?? [],
      ...(log ? { logger: log.child({ component: 'images' }) } : {}),
    },
    metrics,
  );
  const pods = new PodManager({
    nodeName: opts.nodeName,
    hostIP,
    podsDir: paths.pods,
    bundlesDir: paths.bundles,
    cgroupParent,
    runc: new InstrumentedRunc(
      {
        root: paths.runcRoot,
        stateDir: paths.monitorState,
        ...(log ? { logger: log } : {}),
      },
      metrics,
    ),
    images,
    probeResult: (pod, container, kind, result) =>
      metrics.probeResult(
        { namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '' },
        container,
        kind,
        result,
      ),
    network: () => network,
    clusterDns: () => clusterNetwork.clusterDns(),
    backoff: new RestartBackoff(),
    events: events.sink,
    ...(log ? { logger: log.child({ component: 'pods' }) } : {}),
    report: (pod, status) => {
      metrics.podStatus(pod, status);
      link.connection?.send({ pod_status: { ...pod, status_json: JSON.stringify(status) } });
    },
    terminated: (pod) => {
      metrics.podGone(pod.uid);
      link.connection?.send({ pod_terminated: pod });
    },
  });
  await pods.restore();
  metrics.adopted(pods.running().map((p) => p.uid));
  const imageGc = new ImageGc({
    root: paths.images,
    puller: images,
    inUse: () => pods.imagesInUse(),
    ...(opts.imageGcHighThresholdPercent !== undefined
      ? { highThresholdPercent: opts.imageGcHighThresholdPercent }
      : {}),
    ...(opts.imageGcLowThresholdPercent !== undefined
      ? { lowThresholdPercent: opts.imageGcLowThresholdPercent }
      : {}),
    ...(log ? { logger: log.child({ component: 'image-gc' }) } : {}),
  });

  // Directories of local volumes whose PersistentVolume is deleted (reclaimPolicy Delete).
  const volumeCleaner = new LocalVolumeCleaner({
    volumeDir,
    send: (reclaimed) => link.connection?.send({ volume_reclaimed: reclaimed }) ?? false,
    ...(log ? { logger: log.child({ component: 'volumes' }) } : {}),
  });
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
        volume_dir: volumeDir,
      }),
      onRegistered: (ack) => {
        if (!opts.podCidr && ack.pod_cidr) makeNetwork(ack.pod_cidr);
        registered = true;
        events.flush();
        log?.info({ node: opts.nodeName, podCidr: network?.podCidr }, 'registered');
      },
      onNodeConfig: (cfg) => clusterNetwork.onNodeConfig(cfg),
      onNetwork: (net) => {
        void clusterNetwork.onNetwork(net);
      },
      onLocalVolumes: (volumes) => {
        volumeCleaner
          .onLocalVolumes(volumes)
          .catch((err: unknown) => log?.warn({ err }, 'reclaiming local volumes failed'));
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
  metrics.setPodSource({
    pods: () =>
      pods.running().flatMap((ref) => {
        const w = pods.worker(ref.namespace, ref.name, ref.uid);
        return w ? [{ ref, status: w.status() }] : [];
      }),
  });
  // Before the connection starts, so a listen error leaves nothing running.
  const metricsServer = opts.metricsListen
    ? await startMetricsServer(opts.metricsListen, {
        metrics: () => metrics.metrics(),
        contentType: metrics.contentType,
        readyChecks: [
          {
            name: 'registered',
            check: () => (registered ? undefined : 'not yet registered with the control plane'),
          },
          {
            name: 'control-plane-connection',
            check: () => (connection.connected ? undefined : 'not connected to the control plane'),
          },
        ],
      })
    : undefined;
  pods.start();
  imageGc.start();
  connection.start();
  return {
    nodeName: opts.nodeName,
    pods,
    connected: () => connection.connected,
    imageGc,
    ...(metricsServer ? { metricsAddress: metricsServer.address } : {}),
    stop: async () => {
      await metricsServer?.close();
      imageGc.stop();
      await connection.stop();
      await pods.stop();
      // Routes and Service rules stay, as kube-proxy's do: pods keep working across an agent restart.
      await clusterNetwork.stop();
    },
  };
}
