// `shoal controlplane`: etcd (a supervised local child unless --etcd-endpoints
// names a cluster), the cluster PKI and tokens, then the API server over
// HTTPS. Everything durable lives in etcd and in the data directory, so a
// restart with the same flags serves the same cluster.

import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { EtcdSupervisor } from '../etcd/supervisor.js';
import { EtcdStore } from '../store/etcd-store.js';
import { Registry } from '../api/registry/registry.js';
import { buildApiServer } from '../api/server.js';
import { clusterAuthenticator } from '../api/authn.js';
import { loadOrCreateClusterPki } from '../pki/ca.js';
import { loadOrCreateTokens } from '../pki/tokens.js';
import { writeAdminKubeconfig } from '../pki/kubeconfig.js';
import { formatJoinToken } from '../pki/join-token.js';
import { GIT_VERSION } from '../version.js';
import { NamespaceController } from '../controllers/namespace.js';
import { AgentGateway } from '../agents/gateway.js';
import { podLogsHandler } from '../agents/pod-logs.js';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { ControlPlaneMetrics } from '../metrics/controlplane-metrics.js';
import { ControllerThread } from './controller-thread.js';
import type { LeaderWork } from './leader-work.js';
import { ClusterState } from '../metrics/cluster-state.js';
import { startMetricsServer, type RunningMetricsServer } from '../metrics/metrics-server.js';
import type { HealthCheck } from '../metrics/health.js';

export interface ControlplaneOptions {
  dataDir: string;
  /** host:port the API listens on. */
  listen: string;
  /** The address clients use in the kubeconfig (defaults to the listen host). */
  advertiseAddress?: string;
  etcdEndpoints?: string[];
  /** host:port the agent gateway (gRPC) listens on. */
  agentListen?: string;
  /** Pod CIDRs of nodes are carved from this (--cluster-cidr, default 10.244.0.0/16). */
  clusterCidr?: string;
  /** Service clusterIPs come from this (--service-cidr, default 10.96.0.0/12). */
  serviceCidr?: string;
  /** Seconds a leader's lease lives without renewal (--leader-lease-ttl). */
  leaderLeaseTtlSeconds?: number;
  /** A node silent this long becomes Unknown and tainted unreachable. */
  nodeMonitorGracePeriodMs?: number;
  /** Pods on an unreachable node without a toleration are evicted after this. */
  podEvictionTimeoutMs?: number;
  /** Nodes per second whose pods may start being evicted (--node-eviction-rate, default 0.1). */
  nodeEvictionRate?: number;
  /**
   * false: serve the API only, with no scheduler or controllers (as a bare
   * kube-apiserver); tests of API semantics use this. Default true.
   */
  runControllers?: boolean;
  /** Where to write the admin kubeconfig (default <dataDir>/admin.kubeconfig). */
  kubeconfigPath?: string;
  /** Events expire this long after their last update (--event-ttl, default 1 h; 0: never). */
  eventTtlSeconds?: number;
  /**
   * host:port of a plain-HTTP listener for /metrics and the health endpoints
   * without credentials (--metrics-listen); unset: none. The API port serves
   * /metrics too, to the admin token or a client certificate.
   */
  metricsListen?: string;
  logger?: Logger;
}

export interface RunningControlplane {
  url: string;
  /** host:port agents dial. */
  agentAddress: string;
  joinToken: string;
  gateway: AgentGateway;
  /** The scheduler's and the controllers' leadership; none with runControllers false. */
  leaders: LeaderWork[];
  kubeconfigPath: string;
  app: FastifyInstance;
  registry: Registry;
  metrics: ControlPlaneMetrics;
  /** host:port of the --metrics-listen listener, when there is one. */
  metricsAddress?: string;
  stop(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--listen: expected HOST:PORT, got "${listen}"`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export async function startControlplane(opts: ControlplaneOptions): Promise<RunningControlplane> {
  const log = opts.logger ?? pino({ name: 'controlplane' });
  const dataDir = resolve(opts.dataDir);
  const { host, port } = parseListen(opts.listen);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });

  let supervisor: EtcdSupervisor | undefined;
  let endpoints = opts.etcdEndpoints ?? [];
  if (endpoints.length === 0) {
    supervisor = new EtcdSupervisor({ dataDir, logger: log.child({ component: 'etcd' }) });
    endpoints = (await supervisor.start()).endpoints;
  }
  const metrics = new ControlPlaneMetrics();
  const eventTtl = opts.eventTtlSeconds ?? 3600;
  const store = new EtcdStore({
    endpoints,
    metrics: metrics.etcdMetrics,
    // Through etcd leases, as kube-apiserver does (store/lease-manager.ts).
    ...(eventTtl > 0 ? { expiring: [{ prefix: '/registry/events/', ttlSeconds: eventTtl }] } : {}),
  });
  const stopAll: (() => Promise<void>)[] = [];
  try {
    await store.currentRevision();
    const advertise =
      opts.advertiseAddress ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
    const pki = await loadOrCreateClusterPki(dataDir, {
      hosts: [advertise, host].filter((h) => h !== '0.0.0.0' && h !== '::'),
    });
    const tokens = await loadOrCreateTokens(dataDir);
    const registry = new Registry(store, undefined, {
      ...(opts.serviceCidr ? { serviceCidr: opts.serviceCidr } : {}),
    });
    await registry.ensureSystemNamespaces();
    await registry.ensureSystemPriorityClasses();
    await registry.ensureDefaultStorageClass();
    await registry.startNamespaceCache();
    stopAll.push(() => registry.stopNamespaceCache());
    const clusterState = new ClusterState(registry, log.child({ component: 'metrics' }));
    clusterState.start();
    metrics.setClusterState(clusterState);
    stopAll.push(() => clusterState.stop());
    // Filled in below, once the leader's work has started; the API serves only after that.
    const leaders: LeaderWork[] = [];
    const etcdCheck = async (): Promise<string | undefined> => {
      try {
        await store.currentRevision();
        return undefined;
      } catch {
        return 'etcd not reachable';
      }
    };
    const readyChecks: HealthCheck[] = [
      // Listed and watched before the API listens; its re-watches after an error are not visible here.
      { name: 'namespace-cache', check: () => undefined },
      {
        name: 'informer-sync',
        check: () =>
          leaders.some((l) => l.isLeader && !l.controllersRunning)
            ? 'leader: controller caches not synced yet'
            : undefined,
      },
    ];
    const gateway = new AgentGateway({
      registry,
      pki,
      joinToken: tokens.joinToken,
      ...(opts.clusterCidr ? { clusterCidr: opts.clusterCidr } : {}),
      logger: log.child({ component: 'agent-gateway' }),
    });
    const agentListen = parseListen(opts.agentListen ?? '127.0.0.1:6444');
    const agentPort = await gateway.listen(`${agentListen.host}:${agentListen.port}`);
    stopAll.push(() => gateway.stop());
    const app = await buildApiServer({
      registry,
      authenticator: clusterAuthenticator(tokens.adminToken, pki),
      https: { key: pki.servingKeyPem, cert: pki.servingCertPem, ca: pki.caCertPem },
      logger: log.child({ component: 'api' }),
      version: GIT_VERSION,
      podLogs: podLogsHandler(registry, gateway),
      ready: etcdCheck,
      readyChecks,
      instrument: (a) => metrics.instrumentApiServer(a),
      watchMetrics: metrics.watchMetrics,
    });
    // Idempotent, so every replica may run it; the elected controllers come with the scheduler.
    const namespaces = new NamespaceController(
      registry,
      log.child({ component: 'namespace-controller' }),
    );
    await namespaces.start();
    stopAll.push(() => namespaces.stop());
    // The scheduler and the controllers run on the elected leader only, each
    // with a lease of its own (leader-work.ts), in a worker thread
    // (controller-thread.ts); every replica serves the API.
    if (opts.runControllers !== false) {
      const thread = await ControllerThread.start(
        {
          parts: ['scheduler', 'controllers'],
          endpoints,
          identity: `${hostname()}_${process.pid}_${randomUUID().slice(0, 8)}`,
          leaderLeaseTtlSeconds: opts.leaderLeaseTtlSeconds ?? 10,
          eventTtlSeconds: eventTtl,
          logLevel: log.level,
          ...(opts.nodeMonitorGracePeriodMs
            ? { nodeMonitorGracePeriodMs: opts.nodeMonitorGracePeriodMs }
            : {}),
          ...(opts.podEvictionTimeoutMs ? { podEvictionTimeoutMs: opts.podEvictionTimeoutMs } : {}),
          ...(opts.nodeEvictionRate ? { nodeEvictionRate: opts.nodeEvictionRate } : {}),
          ...(opts.serviceCidr ? { serviceCidr: opts.serviceCidr } : {}),
        },
        log.child({ component: 'controller-thread' }),
      );
      leaders.push(thread);
      metrics.addSource(() => thread.metrics());
      // Resigns, so another replica takes over at once; runs before the store closes.
      stopAll.push(() => thread.stop());
    }
    let metricsServer: RunningMetricsServer | undefined;
    if (opts.metricsListen) {
      metricsServer = await startMetricsServer(opts.metricsListen, {
        metrics: () => metrics.metrics(),
        contentType: metrics.contentType,
        readyChecks: [{ name: 'etcd', check: etcdCheck }, ...readyChecks],
      });
      const server = metricsServer;
      stopAll.unshift(() => server.close());
    }
    await app.listen({ host, port });
    const address = app.server.address();
    const boundPort = typeof address === 'object' && address ? address.port : port;
    const hostForUrl = advertise.includes(':') ? `[${advertise}]` : advertise;
    const url = `https://${hostForUrl}:${boundPort}`;
    const kubeconfigPath = opts.kubeconfigPath ?? join(dataDir, 'admin.kubeconfig');
    await writeAdminKubeconfig(kubeconfigPath, {
      server: url,
      caCertPem: pki.caCertPem,
      token: tokens.adminToken,
    });
    log.info(
      { url, agents: agentPort, kubeconfig: kubeconfigPath, etcd: endpoints },
      'control plane serving',
    );
    return {
      url,
      agentAddress: `${agentListen.host === '0.0.0.0' ? advertise : agentListen.host}:${agentPort}`,
      joinToken: formatJoinToken(pki.caCertPem, tokens.joinToken),
      gateway,
      leaders,
      kubeconfigPath,
      app,
      registry,
      metrics,
      ...(metricsServer ? { metricsAddress: metricsServer.address } : {}),
      stop: async () => {
        await app.close();
        for (const stop of stopAll) await stop();
        await store.close();
        await supervisor?.stop();
      },
    };
  } catch (err) {
    for (const stop of stopAll) await stop();
    await store.close();
    await supervisor?.stop();
    throw err;
  }
}

/** The join token agents present once to get their certificate. */
export async function printJoinToken(dataDir: string): Promise<string> {
  const dir = resolve(dataDir);
  const tokens = await loadOrCreateTokens(dir);
  // Read-only: loading the PKI here could reissue the serving certificate.
  const caCertPem = await readFile(join(dir, 'pki', 'ca.crt'), 'utf8').catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`no cluster in ${dir}: start \`shoal controlplane --data-dir ${dir}\` first`);
    }
    throw err;
  });
  return formatJoinToken(caCertPem, tokens.joinToken);
}
