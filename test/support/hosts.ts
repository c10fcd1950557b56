// Several "hosts" on one machine for tests: each a network namespace with a
// veth into one bridge, on a random private /24. The bridge side holds the
// gateway address, where the control plane listens for agents. The network
// primitives are the ones `shoal cluster up` uses (cli/cluster/network.ts);
// this adds random names and a destroy() that removes every namespace, link
// and address it made.

import { randomBytes } from 'node:crypto';
import {
  createBridge,
  createHost,
  deleteHost,
  deleteLink,
  freeSubnet,
  ip,
} from '../../cli/cluster/network.js';

export interface LabHost {
  name: string;
  netnsPath: string;
  ip: string;
}

export interface Lab {
  bridge: string;
  gatewayIp: string;
  prefixLength: number;
  hosts: LabHost[];
  destroy(): Promise<void>;
  /** Takes a host's link down (or up again): the host drops off the network. */
  setLink(host: LabHost, up: boolean): Promise<void>;
}

/**
 * Creates `count` hosts on 10.<a>.<b>.0/24 (the subnet chosen at random
 * among ones no interface on this machine uses).
 */
export async function createLab(count: number, opts: { prefix?: string } = {}): Promise<Lab> {
  const id = opts.prefix ?? `s${randomBytes(2).toString('hex')}`;
  const subnet = await freeSubnet();
  const bridge = `${id}br`;
  const made: { hosts: { netns: string; veth: string }[]; bridge?: string } = { hosts: [] };
  const destroy = async (): Promise<void> => {
    for (const h of made.hosts) await deleteHost(h).catch(() => undefined);
    if (made.bridge) await deleteLink(made.bridge).catch(() => undefined);
  };
  try {
    made.bridge = bridge;
    await createBridge(bridge, `${subnet}.1`);
    const hosts: LabHost[] = [];
    for (let i = 0; i < count; i++) {
      const spec = {
        netns: `${id}h${i + 1}`,
        veth: `${id}v${i + 1}`,
        bridge,
        address: `${subnet}.${i + 10}`,
      };
      made.hosts.push(spec);
      await createHost(spec);
      hosts.push({ name: spec.netns, netnsPath: `/run/netns/${spec.netns}`, ip: spec.address });
    }
    return {
      bridge,
      gatewayIp: `${subnet}.1`,
      prefixLength: 24,
      hosts,
      destroy,
      setLink: async (host, up) => {
        await ip('-n', host.name, 'link', 'set', 'eth0', up ? 'up' : 'down');
      },
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}
