// Several "hosts" on one machine: each a network namespace with a veth into
// one bridge, on a private /24 the caller names. The bridge side holds the
// gateway address, where the control plane listens for agents. Processes are
// started on a host with `nsenter --net=…` (not `ip netns exec`, which
// remounts /sys and hides the cgroup mounts runc needs). destroy() removes
// every namespace, link and address it made.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);

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

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/**
 * Creates `count` hosts on 10.<a>.<b>.0/24 (the subnet chosen at random
 * among ones no interface on this machine uses).
 */
export async function createLab(count: number, opts: { prefix?: string } = {}): Promise<Lab> {
  const id = opts.prefix ?? `s${randomBytes(2).toString('hex')}`;
  const subnet = await freeSubnet();
  const bridge = `${id}br`;
  const made: { netns: string[]; links: string[] } = { netns: [], links: [] };
  const destroy = async (): Promise<void> => {
    for (const ns of made.netns) await ip('netns', 'del', ns).catch(() => undefined);
    for (const link of made.links) await ip('link', 'del', link).catch(() => undefined);
  };
  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    made.links.push(bridge);
    await ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    const hosts: LabHost[] = [];
    for (let i = 0; i < count; i++) {
      const name = `${id}h${i + 1}`;
      const outside = `${id}v${i + 1}`;
      const addr = `${subnet}.${i + 10}`;
      await ip('netns', 'add', name);
      made.netns.push(name);
      await ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
      made.links.push(outside);
      await ip('link', 'set', outside, 'master', bridge, 'up');
      await ip('-n', name, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      await ip('-n', name, 'link', 'set', 'eth0', 'up');
      await ip('-n', name, 'link', 'set', 'lo', 'up');
      hosts.push({ name, netnsPath: `/run/netns/${name}`, ip: addr });
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

/** A 10.x.y.0/24 that no address or route on this machine overlaps. */
async function freeSubnet(): Promise<string> {
  const { stdout } = await run('ip', ['-o', 'route', 'show', 'table', 'all']);
  const { stdout: addrs } = await run('ip', ['-o', 'addr']);
  const used = stdout + addrs;
  for (let tries = 0; tries < 100; tries++) {
    const a = 200 + Math.floor(Math.random() * 50);
    const b = Math.floor(Math.random() * 250) + 1;
    const candidate = `10.${a}.${b}`;
    if (!used.includes(`${candidate}.`)) return candidate;
  }
  throw new Error('no free 10.x.y.0/24 subnet for the test hosts');
}
