// The "hosts" of a local cluster: one Linux bridge in the root network
// namespace holding a private /24's `.1`, and per host a network namespace
// with a veth whose outside end is on the bridge. `shoal cluster up` and the
// test lab (test/support/hosts.ts) both build on these primitives. Processes
// go onto a host with `nsenter --net=/run/netns/<name>`, not `ip netns exec`,
// which remounts /sys and hides the cgroup mounts runc needs.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs `ip` with these arguments; rejects with ip's stderr on failure. */
export async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args)).stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || (err as Error).message}`, { cause: err });
  }
}

/** "10.213.0" for "10.213.0.0/24"; undefined when it is not an a.b.c.0/24. */
export function parseSubnet24(cidr: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(cidr.trim());
  if (!m) return undefined;
  const parts = [m[1], m[2], m[3]].map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.join('.');
}

/**
 * True when an address or route on this machine (any table) already lies in
 * `prefix`.0/24. A textual check on `ip -o addr` and `ip -o route show table
 * all`, which name addresses as dotted quads.
 */
export async function subnetInUse(prefix: string): Promise<boolean> {
  const used = (await ip('-o', 'route', 'show', 'table', 'all')) + (await ip('-o', 'addr'));
  // A route like 10.213.0.0/16 covers us too; compare the networks, not strings.
  for (const m of used.matchAll(/(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/g)) {
    const addr = m[1]!;
    const bits = m[2] === undefined ? 32 : Number(m[2]);
    if (bits === 0) continue; // the default route is not a use of the subnet
    if (overlaps(addr, bits, `${prefix}.0`, 24)) return true;
  }
  return false;
}

function toInt(addr: string): number {
  return addr.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

function overlaps(a: string, aBits: number, b: string, bBits: number): boolean {
  const bits = Math.min(aBits, bBits);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (toInt(a) & mask) >>> 0 === (toInt(b) & mask) >>> 0;
}

/**
 * `preferred` (an a.b.c prefix) when nothing on the machine uses it, else a
 * random 10.x.y.0/24 that nothing uses (x in 200..249, y in 1..250).
 */
export async function freeSubnet(preferred?: string): Promise<string> {
  if (preferred !== undefined && !(await subnetInUse(preferred))) return preferred;
  for (let tries = 0; tries < 100; tries++) {
    const a = 200 + Math.floor(Math.random() * 50);
    const b = Math.floor(Math.random() * 250) + 1;
    const candidate = `10.${a}.${b}`;
    if (!(await subnetInUse(candidate))) return candidate;
  }
  throw new Error('no free 10.x.y.0/24 subnet for the hosts');
}

export async function linkExists(name: string): Promise<boolean> {
  return ip('link', 'show', 'dev', name).then(
    () => true,
    () => false,
  );
}

export async function netnsExists(name: string): Promise<boolean> {
  const out = await ip('netns', 'list');
  return out.split('\n').some((l) => l.split(' ')[0] === name);
}

/** The IPv4 addresses (a.b.c.d/len) on a link in the root namespace or in `netns`. */
export async function linkAddresses(name: string, netns?: string): Promise<string[]> {
  const args = [...(netns ? ['-n', netns] : []), '-o', '-4', 'addr', 'show', 'dev', name];
  const out = await ip(...args).catch(() => '');
  return [...out.matchAll(/inet (\S+)/g)].map((m) => m[1]!);
}

/** A bridge holding `gateway`/24, up. */
export async function createBridge(name: string, gateway: string): Promise<void> {
  await ip('link', 'add', name, 'type', 'bridge');
  await ip('addr', 'add', `${gateway}/24`, 'dev', name);
  await ip('link', 'set', name, 'up');
}

export interface HostSpec {
  /** The network namespace name (/run/netns/<name>). */
  netns: string;
  /** The veth end left in the root namespace, on the bridge (≤15 chars). */
  veth: string;
  bridge: string;
  /** The host's address, a /24 on the bridge's subnet; its eth0 holds it. */
  address: string;
}

/**
 * A network namespace with `eth0` (the peer of `spec.veth`, which goes onto
 * the bridge) holding `spec.address`/24, and `lo` up. Left half-made on
 * failure: the caller owns clean-up (deleteHost).
 */
export async function createHost(spec: HostSpec): Promise<void> {
  await ip('netns', 'add', spec.netns);
  await ip('link', 'add', spec.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', spec.netns);
  await ip('link', 'set', spec.veth, 'master', spec.bridge, 'up');
  await ip('-n', spec.netns, 'addr', 'add', `${spec.address}/24`, 'dev', 'eth0');
  await ip('-n', spec.netns, 'link', 'set', 'eth0', 'up');
  await ip('-n', spec.netns, 'link', 'set', 'lo', 'up');
}

/** Removes the namespace and the veth, whichever of them exists. */
export async function deleteHost(spec: Pick<HostSpec, 'netns' | 'veth'>): Promise<void> {
  if (await netnsExists(spec.netns)) await ip('netns', 'del', spec.netns);
  // Deleting the namespace takes the peer and with it the pair, unless
  // something still holds the namespace open; then remove the pair by hand.
  if (await linkExists(spec.veth)) await ip('link', 'del', spec.veth);
}

export async function deleteLink(name: string): Promise<void> {
  if (await linkExists(name)) await ip('link', 'del', name);
}

/**
 * Turns on IPv4 forwarding inside a host namespace, as a real host running
 * pods has it (pods' traffic is routed through the host). /proc/sys/net shows
 * the writer's own network namespace, so the write happens through nsenter.
 */
export async function enableForwarding(netns: string): Promise<void> {
  await run('nsenter', [
    `--net=/run/netns/${netns}`,
    'sh',
    '-c',
    'echo 1 > /proc/sys/net/ipv4/ip_forward',
  ]);
}
