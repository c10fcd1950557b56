// The agent's side of ClusterNetwork: each message the control plane sends
// (whole, on connect and after changes) is turned into host-gw routes
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

  /** Applies one ClusterNetwork; resolves when routes and rules are programmed. */
  async onNetwork(net: ClusterNetwork__Output): Promise<void> {
    this.last = net;
    const parse = (list: string[]): KubeObject[] => list.map((j) => JSON.parse(j) as KubeObject);
    const services = parse(net.services_json);
    const endpoints = parse(net.endpoints_json);
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
