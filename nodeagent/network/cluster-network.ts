// The agent's side of ClusterNetwork: the control plane sends the whole
// network on connect, then deltas; the agent keeps the whole view here and
// turns it, after each message, into host-gw routes
// (routes.ts), Service rules (service-proxy.ts) and the DNS server's records
// (dns.ts). Every step is a level-triggered sync, so applying the same
// message twice, or after a restart, gives the same kernel state.

import type { Logger } from 'pino';
import type { KubeObject } from '../../controlplane/api/objects.js';
import type { ClusterNetwork__Output } from '../../proto/generated/shoal/agent/v1/ClusterNetwork.js';
import type { NodeConfig__Output } from '../../proto/generated/shoal/agent/v1/NodeConfig.js';
import { ClusterDns, DEFAULT_DNS_PORT } from './dns.js';
import { HostRoutes } from './routes.js';
import { ServiceProxy } from './service-proxy.js';
import { servicePortsOf } from './service-rules.js';

export interface ClusterNetworkAgentOptions {
  nodeName: string;
  /** The node's pod CIDR, once known. */
  podCidr: () => string | undefined;
  dnsPort?: number;
  /** Run in this network namespace (tests); unset: the agent's own. */
  netnsPath?: string;
  logger?: Logger;
}

export class ClusterNetworkAgent {
  readonly routes: HostRoutes;
  readonly proxy: ServiceProxy;
  readonly dns: ClusterDns;
  private config: { nameserver: string; domain: string } | undefined;
  /** The whole network as last applied: a delta is merged into it. */
  private last: ClusterNetwork__Output | undefined;

  constructor(private readonly opts: ClusterNetworkAgentOptions) {
    const common = {
      ...(opts.netnsPath ? { netnsPath: opts.netnsPath } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    };
    this.routes = new HostRoutes({ nodeName: opts.nodeName, ...common });
    this.proxy = new ServiceProxy(common);
    this.dns = new ClusterDns({
      port: opts.dnsPort ?? DEFAULT_DNS_PORT,
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  }

  /** Starts the DNS server; a port already taken is logged, not fatal: pods still run, without names. */
  async start(): Promise<void> {
    await this.dns.start().catch((err: unknown) => {
      this.opts.logger?.error({ err, port: this.dns.port }, 'cluster DNS server cannot start');
    });
  }

  /** What pods put in resolv.conf; undefined until the control plane said. */
  clusterDns(): { nameserver: string; domain: string } | undefined {
    return this.config;
  }

  onNodeConfig(cfg: NodeConfig__Output): void {
    if (!cfg.cluster_dns) return;
    this.config = { nameserver: cfg.cluster_dns, domain: cfg.cluster_domain || 'cluster.local' };
    this.dns.domain = this.config.domain;
    if (this.last) void this.onNetwork(this.last);
  }

  /** Applies one ClusterNetwork (whole or delta); resolves when routes and rules are programmed. */
  async onNetwork(msg: ClusterNetwork__Output): Promise<void> {
    const net = msg.delta ? mergeNetwork(this.last, msg) : msg;
    this.last = net;
    const services = net.services_json.map(parseObject);
    const endpoints = net.endpoints_json.map(parseObject);
    this.dns.update(services, endpoints);
    const podCidr = this.opts.podCidr();
    await Promise.all([
      this.routes.sync(
        net.nodes.map((n) => ({ name: n.name, podCidr: n.pod_cidr, internalIp: n.internal_ip })),
        net.service_cidr,
      ),
      this.proxy.sync({
        services: servicePortsOf(services, endpoints),
        clusterCidr: net.cluster_cidr,
        ...(podCidr ? { podCidr } : {}),
        ...(this.config ? { dns: { ip: this.config.nameserver, port: this.dns.port } } : {}),
      }),
    ]);
  }

  /** Stops the DNS server; with `removeRules`, also deletes the routes and chains. */
  async stop(removeRules = false): Promise<void> {
    await this.dns.stop();
    if (removeRules) {
      await this.routes.remove();
      await this.proxy.remove();
    }
  }
}

function parseObject(json: string): KubeObject {
  return JSON.parse(json) as KubeObject;
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

/** `whole` with a delta applied: upserts by name (namespace/name for JSON objects), then removals. */
export function mergeNetwork(
  whole: ClusterNetwork__Output | undefined,
  delta: ClusterNetwork__Output,
): ClusterNetwork__Output {
  const nodes = new Map((whole?.nodes ?? []).map((n) => [n.name, n]));
  for (const n of delta.nodes) nodes.set(n.name, n);
  for (const name of delta.removed_nodes) nodes.delete(name);
  const objects = (list: string[], upserts: string[], removed: string[]): string[] => {
    const byKey = new Map(list.map((j) => [keyOf(parseObject(j)), j]));
    for (const j of upserts) byKey.set(keyOf(parseObject(j)), j);
    for (const key of removed) byKey.delete(key);
    return [...byKey.values()];
  };
  return {
    ...delta,
    delta: false,
    nodes: [...nodes.values()],
    services_json: objects(whole?.services_json ?? [], delta.services_json, delta.removed_services),
    endpoints_json: objects(
      whole?.endpoints_json ?? [],
      delta.endpoints_json,
      delta.removed_endpoints,
    ),
    removed_nodes: [],
    removed_services: [],
    removed_endpoints: [],
  };
}
