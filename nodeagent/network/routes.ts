// host-gw routing between nodes: in the agent's (host) network namespace,
// one route per other node, `<its pod CIDR> via <its InternalIP>`, so a pod
// address anywhere in the cluster is reachable from every host and every
// pod. Routes are tagged with their own protocol number (ROUTE_PROTO), so
// the agent can tell its routes from anyone else's: after a restart, or when
// a node leaves, whatever carries the tag and is not wanted is deleted.
//
// This needs the hosts on one L2 segment (each next hop directly reachable),
// which is the setting of `shoal cluster up` and of the test lab (one Linux
// bridge). Nodes in different subnets would need an overlay instead; VXLAN
// (flannel's default) would fit here as a second implementation of sync():
// a vxlan device plus one fdb/neighbour entry and route per node, the same
// ClusterNetwork input.
//
// It also turns on what routing pods needs in the host namespace:
// net.ipv4.ip_forward, and bridge-nf-call-iptables so that traffic between
// two pods on one bridge still passes iptables (Service DNAT replies must be
// un-NATed by conntrack even when both ends sit on the same bridge).

import type { Logger } from 'pino';
import { execIn } from './host-exec.js';

/** The rtnetlink protocol number on Shoal's routes (free: iproute2 names 0–4, 8–18, 42, 186–192). */
export const ROUTE_PROTO = '212';

export interface NodeRouteInput {
  name: string;
  podCidr: string;
  internalIp: string;
}

export interface HostRoutesOptions {
  nodeName: string;
  /** Run in this network namespace (tests); unset: the agent's own. */
  netnsPath?: string;
  logger?: Logger;
}

export class HostRoutes {
  private prepared = false;
  /** The routes last applied in full, as a comparable key. */
  private applied: string | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: HostRoutesOptions) {}

  /**
   * Makes the tagged routes exactly one per other node with a pod CIDR and an
   * address, plus one for the Service CIDR when given.
   */
  sync(nodes: NodeRouteInput[], serviceCidr?: string): Promise<void> {
    this.queue = this.queue
      .then(() => this.apply(nodes, serviceCidr))
      .catch((err: unknown) => {
        this.applied = undefined;
        this.opts.logger?.error({ err }, 'programming node routes failed');
      });
    return this.queue;
  }

  /** Deletes every route this agent made. */
  async remove(): Promise<void> {
    await this.queue;
    for (const dst of await this.current())
      await this.ip('route', 'del', dst, 'proto', ROUTE_PROTO);
    this.applied = undefined;
  }

  private async apply(nodes: NodeRouteInput[], serviceCidr?: string): Promise<void> {
    if (!this.prepared) {
      await this.sysctl('net/ipv4/ip_forward', '1');
      await this.sysctl('net/bridge/bridge-nf-call-iptables', '1').catch((err: unknown) =>
        this.opts.logger?.warn(
          { err },
          'cannot enable bridge-nf-call-iptables (br_netfilter not loaded?)',
        ),
      );
      this.prepared = true;
    }
    const wanted = new Map<string, string>();
    for (const n of nodes) {
      if (n.name === this.opts.nodeName || !n.podCidr || !n.internalIp) continue;
      wanted.set(n.podCidr, n.internalIp);
    }
    // A host without a default route (the lab's, `cluster up`'s) has no route
    // to a Service VIP, so its own processes fail before the OUTPUT chain's
    // DNAT runs. A route out of the node's own interface, with its address as
    // source, lets the DNAT happen; the rerouted packet then goes to the pod.
    const self = nodes.find((n) => n.name === this.opts.nodeName)?.internalIp;
    const serviceRoute = serviceCidr && self ? await this.deviceOf(self) : undefined;
    if (serviceCidr && serviceRoute) wanted.set(serviceCidr, `${serviceRoute} ${self}`);
    // Most ClusterNetwork messages are Endpoints changes: no process to spawn
    // when the routes are what was last applied. A restart applies them afresh.
    const key = JSON.stringify([...wanted].sort());
    if (key === this.applied) return;
    for (const [cidr, via] of wanted) {
      if (cidr === serviceCidr) {
        await this.ip(
          'route',
          'replace',
          cidr,
          'dev',
          serviceRoute!,
          'src',
          self!,
          'proto',
          ROUTE_PROTO,
        );
      } else {
        await this.ip('route', 'replace', cidr, 'via', via, 'proto', ROUTE_PROTO);
      }
    }
    for (const dst of await this.current()) {
      if (!wanted.has(dst)) await this.ip('route', 'del', dst, 'proto', ROUTE_PROTO);
    }
    this.applied = key;
  }

  /** The interface that holds address ip, or undefined. */
  private async deviceOf(ip: string): Promise<string | undefined> {
    const out = await this.ip('-o', 'addr', 'show', 'to', ip).catch(() => '');
    // "2: eth0    inet 10.213.0.10/24 …"
    return /^\d+:\s+([^\s@]+)/.exec(out)?.[1];
  }

  private async current(): Promise<string[]> {
    const out = await this.ip('-o', 'route', 'show', 'proto', ROUTE_PROTO);
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter((d) => d !== '');
  }

  private async ip(...args: string[]): Promise<string> {
    return this.exec('ip', args);
  }

  private async sysctl(path: string, value: string): Promise<void> {
    await this.exec('sh', ['-c', `echo ${value} > /proc/sys/${path}`]);
  }

  private exec(cmd: string, args: string[]): Promise<string> {
    return execIn(this.opts.netnsPath, cmd, args);
  }
}
