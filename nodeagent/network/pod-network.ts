// A pod's network: its own network namespace with eth0 on a per-agent bridge,
// an address from the node's pod CIDR, and optional host ports. The wiring is
// done by Debian's standard CNI plugins, run as one conflist:
//   bridge   veth pair into the pod, host end on the bridge; the bridge holds
//            the CIDR's gateway address; hairpin so a pod reaches itself
//            through a service address. Its IPAM, host-local, keeps
//            allocations as files under the data directory, so they survive
//            agent restarts.
//   portmap  DNAT from the host's ports to the pod (only when asked for).
// Two things the usual chain does per pod are done more cheaply: `lo` comes
// up as the namespace is made (netns.ts; no loopback plugin), and traffic
// leaving the CIDR is masqueraded by one node-wide rule (pod-masquerade.ts;
// no per-pod `ipMasq` chain), since process spawns are what a pod start costs.
// All host-side effects (bridge, veths, routes, iptables rules) land in the
// network namespace the plugins run in: the agent's own, or `hostNetnsPath`.

import { createHash, randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { AttachmentStore, type AttachmentRecord } from './attachment-store.js';
import {
  CNI_VERSION,
  CniExec,
  type CniAttachment,
  type CniDns,
  type CniNetworkConfigList,
  type CniPluginConfig,
  type CniResult,
} from './cni.js';
import { NetnsDir, isNetns } from './netns.js';
import { PodMasquerade } from './pod-masquerade.js';

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export interface PodNetworkOptions {
  /** Unique per agent on this machine; names the bridge and the CNI network. */
  agentName: string;
  /** The node's pod CIDR, IPv4, e.g. 10.244.1.0/24. */
  podCidr: string;
  /** Holds `netns/` (the pods' namespaces), `ipam/` (host-local) and `attachments/`. */
  dataDir: string;
  /** At most 15 characters; by default derived from agentName. */
  bridgeName?: string;
  /** Where the CNI plugins are. Default /usr/lib/cni (Debian's containernetworking-plugins). */
  cniBinDir?: string;
  /**
   * The network namespace that plays the host: plugins run in it. Leave unset
   * when the agent already runs inside its host namespace (started under
   * `nsenter --net=…`); tests set it to run in a namespace of their own.
   */
  hostNetnsPath?: string;
  /** Written into every pod's CNI result; the caller turns it into resolv.conf. */
  dns?: CniDns;
  logger?: Logger;
}

export interface PodNetworkStatus {
  netnsPath: string;
  /** The pod's address, without prefix length. */
  ip: string;
  gateway: string;
  dns?: CniDns;
}

export const DEFAULT_CNI_BIN_DIR = '/usr/lib/cni';
const POD_IFNAME = 'eth0';
/** Pod UIDs become file names and part of CNI container IDs (which allow [A-Za-z0-9_.-]). */
const POD_UID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export class PodNetwork {
  readonly networkName: string;
  readonly bridgeName: string;
  readonly podCidr: string;
  private readonly ipamDir: string;
  private readonly netns: NetnsDir;
  private readonly store: AttachmentStore;
  private readonly cni: CniExec;
  private readonly masquerade: PodMasquerade;
  private readonly dns: CniDns | undefined;
  private readonly logger: Logger | undefined;
  /** Per-pod queue: setUp and tearDown of one pod never overlap. */
  private readonly locks = new Map<string, Promise<void>>();

  constructor(opts: PodNetworkOptions) {
    const slug = opts.agentName.toLowerCase().replace(/[^a-z0-9]/g, '');
    if (slug === '')
      throw new Error(`agentName ${JSON.stringify(opts.agentName)} has no letters or digits`);
    this.podCidr = normaliseIpv4Cidr(opts.podCidr);
    this.bridgeName = opts.bridgeName ?? defaultBridgeName(opts.agentName);
    if (!IFNAME.test(this.bridgeName)) {
      throw new Error(
        `bridgeName ${JSON.stringify(this.bridgeName)} is not a valid interface name (≤15 chars)`,
      );
    }
    // host-local keeps its files under <ipam>/<network name>; iptables chains
    // the bridge plugin makes are named from it too.
    this.networkName = `shoal-${slug}`;
    const dataDir = resolve(opts.dataDir);
    this.ipamDir = join(dataDir, 'ipam');
    this.netns = new NetnsDir(join(dataDir, 'netns'));
    this.store = new AttachmentStore(join(dataDir, 'attachments'));
    this.cni = new CniExec({
      binDirs: [opts.cniBinDir ?? DEFAULT_CNI_BIN_DIR],
      ...(opts.hostNetnsPath === undefined ? {} : { hostNetnsPath: opts.hostNetnsPath }),
    });
    this.masquerade = new PodMasquerade({
      networkName: this.networkName,
      podCidr: this.podCidr,
      ...(opts.hostNetnsPath === undefined ? {} : { hostNetnsPath: opts.hostNetnsPath }),
    });
    this.dns = opts.dns;
    this.logger = opts.logger;
  }

  /** The node-wide masquerade chain for this network's pods (pod-masquerade.ts). */
  get masqueradeChain(): string {
    return this.masquerade.chain;
  }

  /**
   * Gives the pod a network namespace wired to the node's bridge and returns
   * its address. Calling it again for a pod that is set up returns the same
   * answer without touching anything; a pod left half set up (a crash, a
   * failed ADD) is torn down and set up afresh.
   */
  setUp(podUid: string, opts: { portMappings?: PortMapping[] } = {}): Promise<PodNetworkStatus> {
    checkPodUid(podUid);
    const portMappings = opts.portMappings ?? [];
    portMappings.forEach(checkPortMapping);
    return this.locked(podUid, () => this.setUpLocked(podUid, portMappings));
  }

  /**
   * Removes the pod from the network: CNI DEL (which releases its address and
   * removes its veth and iptables rules), then its namespace and record.
   * Idempotent, and safe on a pod that was only half set up.
   */
  tearDown(podUid: string): Promise<void> {
    checkPodUid(podUid);
    return this.locked(podUid, () => this.tearDownLocked(podUid));
  }

  /** UIDs of the pods that have a namespace or a record here, set up fully or not. */
  async list(): Promise<string[]> {
    const names = new Set([...(await this.netns.list()), ...(await this.store.list())]);
    return [...names].filter((n) => POD_UID.test(n)).sort();
  }

  private async setUpLocked(
    podUid: string,
    portMappings: PortMapping[],
  ): Promise<PodNetworkStatus> {
    const existing = await this.store.get(podUid);
    if (existing?.result && (await isNetns(existing.netnsPath))) {
      return statusOf(existing.result, existing.netnsPath);
    }
    if (existing || (await this.netns.list()).includes(podUid)) {
      this.logger?.info({ podUid }, 'pod network half set up; tearing it down first');
      await this.tearDownLocked(podUid);
    }

    const record: AttachmentRecord = {
      podUid,
      // A fresh CNI container id per attachment, not the bare pod uid: if a
      // DEL ever runs without the namespace (someone removed it), the bridge
      // plugin cannot find the address and leaves its masquerade chain,
      // which is named from the id; a new attachment reusing that id would
      // then fail every later DEL on the busy chain.
      containerId: `${podUid}-${randomBytes(4).toString('hex')}`,
      ifName: POD_IFNAME,
      netnsPath: this.netns.path(podUid),
      config: this.configList(portMappings.length > 0),
      ...(portMappings.length > 0 ? { capabilityArgs: { portMappings } } : {}),
    };
    // Recorded before anything is made, so a crash at any later point leaves
    // tearDown what it needs to undo it.
    await this.store.put(record);
    try {
      // Concurrently: the namespace does not need the rules, and the rules are
      // made once per agent (later calls resolve at once).
      await Promise.all([this.netns.create(podUid), this.masquerade.ensure()]);
      const result = await this.cni.addList(record.config, attachmentOf(record, record.netnsPath));
      const status = statusOf(result, record.netnsPath);
      await this.store.put({ ...record, result });
      this.logger?.info({ podUid, ip: status.ip }, 'pod network set up');
      return status;
    } catch (err) {
      // The spec's advice after a failed ADD: DEL the whole list.
      await this.tearDownLocked(podUid).catch((cleanupErr: unknown) => {
        this.logger?.warn(
          { podUid, err: cleanupErr },
          'cleanup after failed pod network setup failed',
        );
      });
      throw err;
    }
  }

  private async tearDownLocked(podUid: string): Promise<void> {
    const record = await this.store.get(podUid);
    const nsPath = this.netns.path(podUid);
    const hasNetnsFile = (await this.netns.list()).includes(podUid);
    if (!record && !hasNetnsFile) return;

    const mounted = await isNetns(nsPath);
    if (record) {
      // Without a mounted namespace DEL still releases the address; the veth
      // went with the namespace.
      await this.cni.delList(
        record.config,
        attachmentOf(record, mounted ? nsPath : undefined),
        record.result,
      );
    }
    // No record but a namespace: setUp writes the record first, so nothing
    // was allocated for it; only the namespace is left to remove.
    await this.netns.remove(podUid);
    await this.store.delete(podUid);
    this.logger?.info({ podUid }, 'pod network torn down');
  }

  private configList(withPorts: boolean): CniNetworkConfigList {
    const plugins: CniPluginConfig[] = [
      {
        type: 'bridge',
        bridge: this.bridgeName,
        isGateway: true,
        // Masquerading is node-wide (pod-masquerade.ts), not a chain per pod.
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          subnet: this.podCidr,
          dataDir: this.ipamDir,
          routes: [{ dst: '0.0.0.0/0' }],
        },
        ...(this.dns ? { dns: this.dns } : {}),
      },
    ];
    if (withPorts) {
      // snat: masquerade hairpin and locally originated connections to a host
      // port, so the pod's reply comes back through the host's conntrack.
      plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
    }
    // No loopback plugin: lo is brought up when the namespace is made. Records
    // written before that still list it, and their DEL runs it as recorded.
    return { cniVersion: CNI_VERSION, name: this.networkName, plugins };
  }

  private async locked<T>(podUid: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(podUid) ?? Promise.resolve();
    const run = before.then(fn);
    const done = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(podUid, done);
    try {
      return await run;
    } finally {
      if (this.locks.get(podUid) === done) this.locks.delete(podUid);
    }
  }
}

/** `sh<up to 6 chars of the name>-<6 hex of its hash>`: readable, unique, ≤15 chars. */
export function defaultBridgeName(agentName: string): string {
  const slug = agentName
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 6);
  const hash = createHash('sha256').update(agentName).digest('hex').slice(0, 6);
  return `sh${slug}-${hash}`;
}

/** The record's attachment, with CNI_NETNS left out when `netnsPath` is undefined. */
function attachmentOf(record: AttachmentRecord, netnsPath: string | undefined): CniAttachment {
  return {
    containerId: record.containerId,
    ifName: record.ifName,
    ...(netnsPath === undefined ? {} : { netnsPath }),
    ...(record.capabilityArgs ? { capabilityArgs: record.capabilityArgs } : {}),
  };
}

/** The pod's address: the IPv4 on the interface inside the namespace. */
function statusOf(result: CniResult, netnsPath: string): PodNetworkStatus {
  const ifaces = result.interfaces ?? [];
  const ips = (result.ips ?? []).filter((c) => !c.address.includes(':'));
  const inPod = ips.find(
    (c) => c.interface !== undefined && ifaces[c.interface]?.sandbox !== undefined,
  );
  const chosen = inPod ?? ips[0];
  if (!chosen) throw new Error('CNI result has no IPv4 address for the pod');
  const ip = chosen.address.split('/')[0] ?? chosen.address;
  const dns = result.dns;
  const hasDns = dns !== undefined && Object.values(dns).some((v) => v !== undefined && v !== '');
  return { netnsPath, ip, gateway: chosen.gateway ?? '', ...(hasDns ? { dns } : {}) };
}

function checkPodUid(podUid: string): void {
  if (!POD_UID.test(podUid))
    throw new Error(`pod uid ${JSON.stringify(podUid)} is not usable as a CNI container id`);
}

function checkPortMapping(m: PortMapping): void {
  const port = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= 65535;
  if (
    !port(m.hostPort) ||
    !port(m.containerPort) ||
    (m.protocol !== 'tcp' && m.protocol !== 'udp')
  ) {
    throw new Error(`invalid port mapping ${JSON.stringify(m)}`);
  }
}

/** Validates an IPv4 CIDR and returns it with the host bits cleared. */
export function normaliseIpv4Cidr(cidr: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : NaN;
  // /30 is the smallest subnet with room for a gateway and one pod.
  if (!m || octets.some((o) => o > 255) || prefix < 8 || prefix > 30) {
    throw new Error(`podCidr ${JSON.stringify(cidr)} is not an IPv4 CIDR between /8 and /30`);
  }
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  const net = addr - (addr % size);
  return `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.')}/${prefix}`;
}
