// The cluster DNS server every agent runs in its host network namespace
// (UDP and TCP), answering from the ClusterNetwork the control plane sends:
//   <svc>.<ns>.svc.<domain>            A → the Service's clusterIP, or for a
//                                      headless Service its ready endpoints
//   <hostname>.<svc>.<ns>.svc.<domain> A → that endpoint (headless + hostname)
//   anything else inside <domain>      NXDOMAIN
//   names outside <domain>             REFUSED: this server does not forward.
// Not forwarding is deliberate for now: the lab and tests must not send
// traffic to outside addresses, and a pod's resolver moves on past REFUSED.
// Search-path forms (`web`, `web.default`) work through the pod's
// resolv.conf (search <ns>.svc.<domain> svc.<domain> <domain>, ndots:5).
//
// How pods reach it: resolv.conf names the cluster DNS address (the service
// CIDR's .10, kube-dns's 10.96.0.10), and every node's Service rules
// REDIRECT that address's port 53 to this server's port on the node itself.
// One address for the whole cluster, as Kubernetes users expect to see, each
// query answered by the pod's own node (no cross-host hop), and the server
// needs no address of its own on the pod bridge (which appears only with the
// first pod).

import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Logger } from 'pino';
import { isRecord, type KubeObject } from '../../controlplane/api/objects.js';

export const DEFAULT_DNS_PORT = 10053;
const TTL = 5;
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/** Name (lower case, no trailing dot) → IPv4 addresses. */
export type DnsRecords = Map<string, string[]>;

/** The A records for the cluster's Services and Endpoints. */
export function dnsRecordsOf(
  services: KubeObject[],
  endpoints: KubeObject[],
  domain: string,
): DnsRecords {
  const records: DnsRecords = new Map();
  const epByKey = new Map(endpoints.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  for (const svc of services) {
    const ns = svc.metadata.namespace ?? 'default';
    const name = `${svc.metadata.name ?? ''}.${ns}.svc.${domain}`.toLowerCase();
    const spec = isRecord(svc.spec) ? svc.spec : {};
    if (spec.type === 'ExternalName') continue;
    if (typeof spec.clusterIP === 'string' && spec.clusterIP !== 'None' && spec.clusterIP !== '') {
      records.set(name, [spec.clusterIP]);
      continue;
    }
    const ep = epByKey.get(`${ns}/${svc.metadata.name ?? ''}`);
    const ips = new Set<string>();
    for (const sub of ep && Array.isArray(ep.subsets) ? ep.subsets.filter(isRecord) : []) {
      for (const a of Array.isArray(sub.addresses) ? sub.addresses.filter(isRecord) : []) {
        if (typeof a.ip !== 'string') continue;
        ips.add(a.ip);
        if (typeof a.hostname === 'string' && a.hostname !== '')
          records.set(`${a.hostname.toLowerCase()}.${name}`, [a.ip]);
      }
    }
    records.set(name, [...ips].sort());
  }
  return records;
}

/** The answer to one query packet (pure: the server and the tests share it). */
export function answer(
  query: dnsPacket.Packet,
  records: DnsRecords,
  domain: string,
): dnsPacket.Packet {
  const q = query.questions?.[0];
  const base = {
    type: 'response' as const,
    id: query.id ?? 0,
    questions: query.questions ?? [],
  };
  const rd = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  if (!q) return { ...base, flags: rd | RCODE.SERVFAIL };
  const name = q.name.toLowerCase().replace(/\.$/, '');
  const zone = domain.toLowerCase();
  if (name !== zone && !name.endsWith(`.${zone}`)) return { ...base, flags: rd | RCODE.REFUSED };
  const aa = dnsPacket.AUTHORITATIVE_ANSWER | rd;
  const ips = records.get(name);
  if (ips === undefined) {
    // A name with records below it exists (e.g. default.svc.cluster.local): empty, not NXDOMAIN.
    const parent = [...records.keys()].some((k) => k.endsWith(`.${name}`)) || name === zone;
    return { ...base, flags: aa | (parent ? RCODE.NOERROR : RCODE.NXDOMAIN) };
  }
  if (q.type !== 'A') return { ...base, flags: aa | RCODE.NOERROR };
  return {
    ...base,
    flags: aa | RCODE.NOERROR,
    answers: ips.map((ip) => ({
      type: 'A' as const,
      class: 'IN' as const,
      name: q.name,
      ttl: TTL,
      data: ip,
    })),
  };
}

export interface ClusterDnsOptions {
  port?: number;
  /** Default 0.0.0.0: the host namespace's every address (the REDIRECT lands on the bridge's or 127.0.0.1). */
  host?: string;
  domain?: string;
  logger?: Logger;
}

export class ClusterDns {
  private records: DnsRecords = new Map();
  private udp: Socket | undefined;
  private tcp: Server | undefined;
  private readonly tcpClients = new Set<TcpSocket>();
  domain: string;

  constructor(private readonly opts: ClusterDnsOptions = {}) {
    this.domain = opts.domain ?? 'cluster.local';
  }

  get port(): number {
    return this.opts.port ?? DEFAULT_DNS_PORT;
  }

  update(services: KubeObject[], endpoints: KubeObject[]): void {
    this.records = dnsRecordsOf(services, endpoints, this.domain);
  }

  async start(): Promise<void> {
    const host = this.opts.host ?? '0.0.0.0';
    const udp = createSocket('udp4');
    udp.on('message', (msg, rinfo) => {
      const reply = this.handle(msg);
      if (reply) udp.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (err) => this.opts.logger?.warn({ err }, 'dns udp socket error'));
    this.udp = udp;
    const tcp = createServer((sock) => this.serveTcp(sock));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.port, host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.tcp = tcp;
  }

  async stop(): Promise<void> {
    for (const s of this.tcpClients) s.destroy();
    await new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
    this.udp = undefined;
    this.tcp = undefined;
  }

  private handle(msg: Buffer): Buffer | undefined {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined; // not DNS: nothing sensible to answer
    }
    return dnsPacket.encode(answer(query, this.records, this.domain));
  }

  /** DNS over TCP: each message framed by a two-byte length. */
  private serveTcp(sock: TcpSocket): void {
    this.tcpClients.add(sock);
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const reply = this.handle(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        if (!reply) {
          sock.destroy();
          return;
        }
        const head = Buffer.alloc(2);
        head.writeUInt16BE(reply.length);
        sock.write(Buffer.concat([head, reply]));
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => this.tcpClients.delete(sock));
    sock.setTimeout(10_000, () => sock.destroy());
  }
}
