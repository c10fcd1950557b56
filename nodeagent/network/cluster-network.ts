// The agent's side of ClusterNetwork: the control plane sends the whole
// network on connect, then deltas; the agent keeps the whole view here and
// turns it, after each message, into host-gw routes
// (routes.ts), Service rules (service-proxy.ts) and the DNS server's records
// (dns.ts). Every step is a level-triggered sync, so applying the same
// message twice, or after a restart, gives the same kernel state.

import type { Logger } from 'pino';
import { namespacedName, type KubeObject } from '../../controlplane/api/objects.js';
import type { ClusterNetwork__Output } from '../../proto/generated/shoal/agent/v1/ClusterNetwork.js';
import type { NodeConfig__Output } from '../../proto/generated/shoal/agent/v1/NodeConfig.js';
import type { NodeRoute__Output } from '../../proto/generated/shoal/agent/v1/NodeRoute.js';
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
  private readonly view = new NetworkView();
  /** Whether any ClusterNetwork has come yet (before that there is nothing to program). */
  private received = false;

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
    if (this.received)
      this.sync().catch((err: unknown) =>
        this.opts.logger?.error({ err }, 'programming the cluster network failed'),
      );
  }

  /** Applies one ClusterNetwork (whole or delta); resolves when routes and rules are programmed. */
  async onNetwork(msg: ClusterNetwork__Output): Promise<void> {
    this.view.apply(msg);
    this.received = true;
    await this.sync();
  }

  /** Programs routes, rules and DNS records from the whole view. */
  private async sync(): Promise<void> {
    const net = this.view;
    const services = [...net.services.values()];
    const endpoints = [...net.endpoints.values()];
    this.dns.update(services, endpoints);
    const podCidr = this.opts.podCidr();
    await Promise.all([
      this.routes.sync(
        [...net.nodes.values()].map((n) => ({
          name: n.name,
          podCidr: n.pod_cidr,
          internalIp: n.internal_ip,
        })),
        net.serviceCidr,
      ),
      this.proxy.sync({
        services: servicePortsOf(services, endpoints),
        clusterCidr: net.clusterCidr,
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

/**
 * The whole cluster network as the agent knows it, keyed so that a delta
 * changes only what it names: each object is parsed once, when it arrives.
 */
export class NetworkView {
  readonly nodes = new Map<string, NodeRoute__Output>();
  readonly services = new Map<string, KubeObject>();
  readonly endpoints = new Map<string, KubeObject>();
  clusterCidr = '';
  serviceCidr = '';

  /** Applies a whole message (replaces everything) or a delta (upserts by name, then removals). */
  apply(msg: ClusterNetwork__Output): void {
    if (!msg.delta) {
      this.nodes.clear();
      this.services.clear();
      this.endpoints.clear();
    }
    for (const n of msg.nodes) this.nodes.set(n.name, n);
    for (const name of msg.removed_nodes) this.nodes.delete(name);
    upsert(this.services, msg.services_json, msg.removed_services);
    upsert(this.endpoints, msg.endpoints_json, msg.removed_endpoints);
    this.clusterCidr = msg.cluster_cidr;
    this.serviceCidr = msg.service_cidr;
  }
}

function upsert(into: Map<string, KubeObject>, json: string[], removed: string[]): void {
  for (const j of json) {
    const o = JSON.parse(j) as KubeObject;
    into.set(namespacedName(o), o);
  }
  for (const key of removed) into.delete(key);
}
