// PodNetwork end to end with Debian's real CNI plugins, as root. The test
// makes its own "host" network namespace and points PodNetwork at it
// (hostNetnsPath), so the bridge, veths, routes and iptables rules all land
// there and vanish with it; the machine's root namespace is never touched. A
// second namespace, joined to the host by a veth, plays a client elsewhere on
// the network for the host-port check. Traffic goes only to addresses inside
// these namespaces.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  access,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniError } from './cni.js';
import { PodNetwork, type PodNetworkOptions, type PodNetworkStatus } from './pod-network.js';

const run = promisify(execFile);

const CAN_RUN =
  process.getuid?.() === 0 &&
  existsSync('/usr/lib/cni/bridge') &&
  existsSync('/usr/lib/cni/portmap') &&
  existsSync('/usr/bin/busybox');

const POD_CIDR = '10.244.1.0/24';
const HOST_ADDR = '192.0.2.1'; // TEST-NET-1, and only inside the test's namespaces
const CLIENT_ADDR = '192.0.2.2';

async function inNetns(netnsPath: string, ...cmd: string[]): Promise<string> {
  // The timeout stands in for busybox wget's -T, which segfaults in Debian's busybox-static.
  const { stdout } = await run('nsenter', [`--net=${netnsPath}`, '--', ...cmd], {
    timeout: 10_000,
  });
  return stdout;
}

/** Retries `fn` a bounded number of times: a server just spawned may not listen yet. */
async function eventually<T>(fn: () => Promise<T>, attempts = 50): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe.skipIf(!CAN_RUN)('PodNetwork with the real CNI plugins', () => {
  const id = randomBytes(3).toString('hex');
  const hostNs = `shoal-t-${id}`;
  const clientNs = `shoal-tc-${id}`;
  const hostPath = `/run/netns/${hostNs}`;
  const clientPath = `/run/netns/${clientNs}`;
  const children: ChildProcess[] = [];
  const networks: PodNetwork[] = [];
  let dataDir: string;
  let opts: PodNetworkOptions;
  let podA: PodNetworkStatus;
  let podB: PodNetworkStatus;
  const uidA = randomUUID();
  const uidB = randomUUID();

  function network(extra: Partial<PodNetworkOptions> = {}): PodNetwork {
    const net = new PodNetwork({ ...opts, ...extra });
    networks.push(net);
    return net;
  }

  async function startHttpd(netnsPath: string, port: number, body: string): Promise<void> {
    const root = await mkdtemp(join(dataDir, 'www-'));
    await writeFile(join(root, 'index.html'), body);
    // nsenter execs busybox in place (no fork for a net namespace), so this
    // pid is the server's own.
    const child = spawn(
      'nsenter',
      [`--net=${netnsPath}`, '--', 'busybox', 'httpd', '-f', '-p', String(port), '-h', root],
      {
        stdio: 'ignore',
      },
    );
    children.push(child);
  }

  const wget = (fromNetns: string, url: string): Promise<string> =>
    inNetns(fromNetns, 'busybox', 'wget', '-q', '-O', '-', url);

  const iptablesSave = (): Promise<string> => inNetns(hostPath, 'iptables-save');

  const hostVeths = async (): Promise<number> =>
    (await inNetns(hostPath, 'ip', '-o', 'link', 'show', 'type', 'veth'))
      .split('\n')
      .filter((l) => l !== '').length;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shoal-podnet-'));
    opts = { agentName: `test-${id}`, podCidr: POD_CIDR, dataDir, hostNetnsPath: hostPath };
    await run('ip', ['netns', 'add', hostNs]);
    await run('ip', ['netns', 'add', clientNs]);
    await run('ip', ['-n', hostNs, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', clientNs, 'link', 'set', 'lo', 'up']);
    await run('ip', [
      '-n',
      hostNs,
      'link',
      'add',
      'uplink',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      clientNs,
    ]);
    await run('ip', ['-n', hostNs, 'addr', 'add', `${HOST_ADDR}/24`, 'dev', 'uplink']);
    await run('ip', ['-n', hostNs, 'link', 'set', 'uplink', 'up']);
    await run('ip', ['-n', clientNs, 'addr', 'add', `${CLIENT_ADDR}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', clientNs, 'link', 'set', 'eth0', 'up']);
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    // Best effort through the code under test, then by force: whatever is
    // still mounted under dataDir goes before the directory does.
    const net = networks[0];
    if (net) {
      for (const uid of await net.list().catch(() => []))
        await net.tearDown(uid).catch(() => undefined);
    }
    if (dataDir) {
      const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
        .split('\n')
        .map((l) => l.split(' ')[4])
        .filter((m): m is string => m !== undefined && m.startsWith(dataDir))
        .sort((a, b) => b.length - a.length);
      for (const m of mounts) await run('umount', ['--lazy', m]).catch(() => undefined);
    }
    await run('ip', ['netns', 'del', clientNs]).catch(() => undefined);
    await run('ip', ['netns', 'del', hostNs]).catch(() => undefined);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('gives two pods distinct addresses in the CIDR, reachable from each other and from the host', async () => {
    const net = network();
    podA = await net.setUp(uidA);
    podB = await net.setUp(uidB);

    for (const pod of [podA, podB]) {
      expect(pod.ip).toMatch(/^10\.244\.1\.\d+$/);
      expect(pod.gateway).toBe('10.244.1.1');
      expect(pod.netnsPath.startsWith(join(dataDir, 'netns'))).toBe(true);
    }
    expect(podA.ip).not.toBe(podB.ip);
    expect(podA.netnsPath).not.toBe(podB.netnsPath);
    expect(await net.list()).toEqual([uidA, uidB].sort());

    // lo is up in the pod, eth0 holds the address, the default route points at the bridge.
    expect(await inNetns(podA.netnsPath, 'ip', '-o', 'addr', 'show', 'dev', 'lo')).toContain(
      '127.0.0.1',
    );
    expect(await inNetns(podA.netnsPath, 'ip', 'route', 'show', 'default')).toContain(
      'via 10.244.1.1',
    );

    await inNetns(podA.netnsPath, 'busybox', 'ping', '-c', '1', '-W', '2', podB.ip);
    await inNetns(hostPath, 'busybox', 'ping', '-c', '1', '-W', '2', podA.ip);
    // Leaving the pod CIDR, a pod is masqueraded by the node-wide rule: the
    // client has no route back to 10.244.1.0/24, only to the host's address.
    await inNetns(podA.netnsPath, 'busybox', 'ping', '-c', '1', '-W', '2', CLIENT_ADDR);
    const nat = await inNetns(hostPath, 'iptables-save', '-t', 'nat');
    expect(nat).toContain(`-A POSTROUTING -s ${POD_CIDR} `);
    expect(nat).toContain(`-A ${net.masqueradeChain} -d ${POD_CIDR} -j ACCEPT`);
    expect(nat).toContain(`-A ${net.masqueradeChain} ! -d 224.0.0.0/4 -j MASQUERADE`);
    await startHttpd(podB.netnsPath, 9000, 'hello from b');
    expect(await eventually(() => wget(podA.netnsPath, `http://${podB.ip}:9000/`))).toBe(
      'hello from b',
    );

    // Asking again changes nothing and answers the same.
    expect(await net.setUp(uidA)).toEqual(podA);
  });

  it('keeps existing pods and their addresses across an agent restart, and allocates new distinct ones', async () => {
    const restarted = network();
    const jumps = async (): Promise<number> =>
      (await inNetns(hostPath, 'iptables-save', '-t', 'nat'))
        .split('\n')
        .filter((l) => l.startsWith('-A POSTROUTING') && l.includes(restarted.masqueradeChain))
        .length;
    expect(await restarted.list()).toEqual([uidA, uidB].sort());
    expect(await restarted.setUp(uidA)).toEqual(podA);
    // Several at once, as an agent adopting a node's pods would.
    const uids = [randomUUID(), randomUUID(), randomUUID()];
    const pods = await Promise.all(uids.map((uid) => restarted.setUp(uid)));
    const ips = new Set([podA.ip, podB.ip, ...pods.map((p) => p.ip)]);
    expect(ips.size).toBe(5);
    for (const pod of pods) expect(pod.ip).toMatch(/^10\.244\.1\.\d+$/);
    await inNetns(pods[0]!.netnsPath, 'busybox', 'ping', '-c', '1', '-W', '2', podA.ip);
    // The restarted agent made the masquerade rules again: the same ones, not a second jump.
    expect(await jumps()).toBe(1);
    const chainRules = (await inNetns(hostPath, 'iptables-save', '-t', 'nat'))
      .split('\n')
      .filter((l) => l.startsWith(`-A ${restarted.masqueradeChain} `));
    expect(chainRules).toHaveLength(2);
    await Promise.all(uids.map((uid) => restarted.tearDown(uid)));
    expect(await restarted.list()).toEqual([uidA, uidB].sort());
  });

  it('sets a pod up afresh when its namespace is gone but its record survived (as after a reboot)', async () => {
    const net = network();
    const uid = randomUUID();
    const before = await net.setUp(uid);
    await run('umount', ['--lazy', before.netnsPath]);
    const after = await net.setUp(uid);
    expect(after.netnsPath).toBe(before.netnsPath);
    await inNetns(hostPath, 'busybox', 'ping', '-c', '1', '-W', '2', after.ip);
    // The old attachment was deleted first: its address went back to the pool.
    const held = (await readdir(join(dataDir, 'ipam', net.networkName))).filter((f) =>
      /^\d/.test(f),
    );
    expect(held.sort()).toEqual([podA.ip, podB.ip, after.ip].sort());
    await net.tearDown(uid);
    expect(await net.list()).toEqual([uidA, uidB].sort());
  });

  it('tears a pod down: namespace, veth and address go, no rule names it; twice is fine', async () => {
    const net = network();
    const ipamFile = join(dataDir, 'ipam', net.networkName, podB.ip);
    expect(await exists(ipamFile)).toBe(true);
    const veths = await hostVeths();

    await net.tearDown(uidB);

    expect(await exists(podB.netnsPath)).toBe(false);
    expect(await exists(ipamFile)).toBe(false);
    expect(await hostVeths()).toBe(veths - 1);
    expect(await iptablesSave()).not.toContain(uidB);
    expect(await net.list()).toEqual([uidA]);
    await net.tearDown(uidB);
    await net.tearDown(randomUUID());
  });

  it('cleans up a half-made pod: a failed ADD leaves nothing, a leftover namespace file is removed', async () => {
    // A portmap that fails its ADD (and does the real one's DEL): ADD fails
    // after bridge has made the veth and taken an address, so setUp must undo both.
    const bin = join(dataDir, 'cni-bin');
    await mkdir(bin);
    for (const p of ['bridge', 'host-local', 'loopback'])
      await symlink(`/usr/lib/cni/${p}`, join(bin, p));
    await writeFile(
      join(bin, 'portmap'),
      '#!/bin/sh\nif [ "$CNI_COMMAND" = ADD ]; then\n' +
        '  echo \'{"cniVersion":"1.0.0","code":100,"msg":"injected failure"}\'; exit 1\nfi\n' +
        'exec /usr/lib/cni/portmap\n',
      { mode: 0o755 },
    );
    const broken = network({ cniBinDir: bin });
    const uid = randomUUID();
    const veths = await hostVeths();
    const err = await broken
      .setUp(uid, { portMappings: [{ hostPort: 18081, containerPort: 80, protocol: 'tcp' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect(err).toMatchObject({ plugin: 'portmap', code: 100, msg: 'injected failure' });
    expect(await broken.list()).toEqual([uidA]);
    expect(await hostVeths()).toBe(veths);
    expect(await readdir(join(dataDir, 'ipam', broken.networkName))).not.toContain(podB.ip);
    expect(await iptablesSave()).not.toContain(uid);

    const leftover = randomUUID();
    await writeFile(join(dataDir, 'netns', leftover), '');
    expect(await broken.list()).toContain(leftover);
    await broken.tearDown(leftover);
    expect(await broken.list()).toEqual([uidA]);
  });

  it('maps a host port to the pod, from another machine and from the host itself, until teardown', async () => {
    const net = network();
    const uidP = randomUUID();
    const podP = await net.setUp(uidP, {
      portMappings: [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }],
    });
    await startHttpd(podP.netnsPath, 8080, 'hello via host port');

    expect(await eventually(() => wget(clientPath, `http://${HOST_ADDR}:18080/`))).toBe(
      'hello via host port',
    );
    expect(await wget(hostPath, `http://${HOST_ADDR}:18080/`)).toBe('hello via host port');
    expect(await iptablesSave()).toContain('18080');

    await net.tearDown(uidP);
    expect(await iptablesSave()).not.toContain('18080');
    expect(await iptablesSave()).not.toContain(uidP);
    await expect(wget(clientPath, `http://${HOST_ADDR}:18080/`)).rejects.toThrow();
  });
});
