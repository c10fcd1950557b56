// The iptables rules that make Services work on a node, as text for one
// `iptables-restore --noflush` (pure functions; service-proxy.ts applies them).
//
// The layout is kube-proxy's iptables mode, with Shoal's own chain names so
// the two never collide and anyone who has read kube-proxy's rules reads
// these:
//
//   nat PREROUTING, OUTPUT → SHOAL-SERVICES
//     -d <clusterIP> -p <proto> --dport <port>       → SHOAL-SVC-<hash>
//     -d <dns address> --dport 53                    → REDIRECT to the node's DNS server
//     (last) -m addrtype --dst-type LOCAL            → SHOAL-NODEPORTS
//   SHOAL-NODEPORTS  --dport <nodePort>               → SHOAL-MARK-MASQ, SHOAL-SVC-<hash>
//   SHOAL-SVC-<hash> traffic from outside the cluster CIDR → SHOAL-MARK-MASQ;
//                    (ClientIP affinity: recent --rcheck → the endpoint last used)
//                    statistic random 1/n, 1/(n-1), … → SHOAL-SEP-<hash>, the last one
//                    unconditional: every ready endpoint gets an even share
//   SHOAL-SEP-<hash> from the endpoint itself (hairpin) → SHOAL-MARK-MASQ; DNAT to ip:port
//   nat POSTROUTING → SHOAL-POSTROUTING
//     marked 0x4000 → MASQUERADE (node ports, hairpin, off-cluster clients)
//     cluster CIDR → cluster CIDR → ACCEPT: pods see each other's real
//       addresses across hosts; this also stops before the CNI bridge
//       plugin's per-pod masquerade chains, which exempt only this node's CIDR
//     <pod CIDR> → not the cluster CIDR → MASQUERADE (leaving the cluster)
//   filter FORWARD, OUTPUT (new connections) → SHOAL-SERVICES: REJECT for a
//     Service port with no ready endpoint (refused at once, not a timeout)
//   filter FORWARD → SHOAL-FORWARD: ACCEPT to and from the cluster CIDR, for
//     hosts whose FORWARD policy is DROP
//
// Why iptables rather than nftables: on Debian 12 `iptables` is already the
// nf_tables backend (iptables-nft), so the kernel path is the same; what the
// iptables form buys is kube-proxy's well-known, well-debugged layout (the
// statistic/recent/addrtype matches, the 0x4000 masquerade mark) and
// `iptables-save` output any Kubernetes operator can read. iptables-restore
// --noflush replaces exactly the chains it declares, atomically per table,
// and leaves everyone else's rules (the CNI plugins', Docker's) alone.

import { createHash } from 'node:crypto';
import { isRecord, type KubeObject } from '../../controlplane/api/objects.js';

export const MASQ_MARK = '0x4000';
export const CHAIN_PREFIX = 'SHOAL-';
/** Chains with fixed names, per table. */
export const NAT_CHAINS = [
  'SHOAL-SERVICES',
  'SHOAL-NODEPORTS',
  'SHOAL-POSTROUTING',
  'SHOAL-MARK-MASQ',
] as const;
export const FILTER_CHAINS = ['SHOAL-SERVICES', 'SHOAL-FORWARD'] as const;

export type Protocol = 'tcp' | 'udp';

export interface Endpoint {
  ip: string;
  port: number;
}

/** One port of one Service, with the ready endpoints behind it. */
export interface ServicePort {
  namespace: string;
  name: string;
  /** The Service port's name ('' when it has one unnamed port). */
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  nodePort?: number;
  /** ClientIP session affinity timeout; unset: none. */
  affinitySeconds?: number;
  endpoints: Endpoint[];
}

export interface RulesInput {
  services: ServicePort[];
  clusterCidr: string;
  /** This node's pod CIDR, once known. */
  podCidr?: string;
  /** Where pods' DNS queries to the cluster DNS address are redirected. */
  dns?: { ip: string; port: number };
  /** SHOAL-SVC-/SHOAL-SEP- chains that exist now; those not in use any more are deleted. */
  existingChains?: Iterable<string>;
}

export interface RenderedRules {
  /** Input for `iptables-restore --noflush`. */
  text: string;
  /** Every per-service chain the text leaves in the nat table. */
  chains: Set<string>;
}

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16).toUpperCase();
}

export function serviceChain(
  sp: Pick<ServicePort, 'namespace' | 'name' | 'portName' | 'protocol'>,
): string {
  return `SHOAL-SVC-${hash(`${sp.namespace}/${sp.name}:${sp.portName}/${sp.protocol}`)}`;
}

export function endpointChain(svcChain: string, ep: Endpoint): string {
  return `SHOAL-SEP-${hash(`${svcChain}>${ep.ip}:${ep.port}`)}`;
}

/** The probability for the i-th of n endpoints (0-based) that leaves each an even share. */
export function shareProbability(i: number, n: number): string {
  return (1 / (n - i)).toFixed(10);
}

/** Renders the nat and filter tables' Shoal chains for the given Services. */
export function renderRules(input: RulesInput): RenderedRules {
  const services = [...input.services].sort(
    (a, b) =>
      a.namespace.localeCompare(b.namespace) ||
      a.name.localeCompare(b.name) ||
      a.portName.localeCompare(b.portName) ||
      a.protocol.localeCompare(b.protocol),
  );
  const chains = new Set<string>();
  const natRules: string[] = [];
  const filterRules: string[] = [];
  const cluster = input.clusterCidr;

  natRules.push(`-A SHOAL-MARK-MASQ -j MARK --or-mark ${MASQ_MARK}`);
  natRules.push(
    `-A SHOAL-POSTROUTING -m mark --mark ${MASQ_MARK}/${MASQ_MARK} -m comment --comment "shoal service traffic requiring SNAT" -j MASQUERADE`,
  );
  natRules.push(
    `-A SHOAL-POSTROUTING -s ${cluster} -d ${cluster} -m comment --comment "pod to pod: no NAT" -j ACCEPT`,
  );
  if (input.podCidr) {
    natRules.push(
      `-A SHOAL-POSTROUTING -s ${input.podCidr} ! -d ${cluster} -m comment --comment "pods leaving the cluster" -j MASQUERADE`,
    );
  }
  if (input.dns) {
    for (const proto of ['udp', 'tcp'] as const) {
      natRules.push(
        `-A SHOAL-SERVICES -d ${input.dns.ip}/32 -p ${proto} -m comment --comment "cluster DNS" -m ${proto} --dport 53 -j REDIRECT --to-ports ${input.dns.port}`,
      );
    }
  }
  filterRules.push(
    `-A SHOAL-FORWARD -s ${cluster} -j ACCEPT`,
    `-A SHOAL-FORWARD -d ${cluster} -j ACCEPT`,
  );

  const nodePortRules: string[] = [];
  const svcRules: string[] = [];
  for (const sp of services) {
    const svc = serviceChain(sp);
    const comment = `-m comment --comment "${sp.namespace}/${sp.name}${sp.portName ? `:${sp.portName}` : ''}"`;
    const match = (port: number): string => `-p ${sp.protocol} -m ${sp.protocol} --dport ${port}`;
    if (sp.endpoints.length === 0) {
      filterRules.push(
        `-A SHOAL-SERVICES -d ${sp.clusterIP}/32 ${match(sp.port)} ${comment} -j REJECT --reject-with icmp-port-unreachable`,
      );
      if (sp.nodePort) {
        filterRules.push(
          `-A SHOAL-SERVICES -m addrtype --dst-type LOCAL ${match(sp.nodePort)} ${comment} -j REJECT --reject-with icmp-port-unreachable`,
        );
      }
      continue;
    }
    chains.add(svc);
    natRules.push(`-A SHOAL-SERVICES -d ${sp.clusterIP}/32 ${match(sp.port)} ${comment} -j ${svc}`);
    if (sp.nodePort) {
      nodePortRules.push(
        `-A SHOAL-NODEPORTS ${match(sp.nodePort)} ${comment} -j SHOAL-MARK-MASQ`,
        `-A SHOAL-NODEPORTS ${match(sp.nodePort)} ${comment} -j ${svc}`,
      );
    }
    svcRules.push(
      `-A ${svc} ! -s ${cluster} -d ${sp.clusterIP}/32 ${match(sp.port)} -j SHOAL-MARK-MASQ`,
    );
    const eps = [...sp.endpoints].sort((a, b) => a.ip.localeCompare(b.ip) || a.port - b.port);
    const sepChains = eps.map((ep) => endpointChain(svc, ep));
    if (sp.affinitySeconds) {
      for (const sep of sepChains) {
        svcRules.push(
          `-A ${svc} -m recent --name ${sep} --mask 255.255.255.255 --rsource --rcheck --seconds ${sp.affinitySeconds} --reap -j ${sep}`,
        );
      }
    }
    eps.forEach((ep, i) => {
      const sep = sepChains[i]!;
      chains.add(sep);
      svcRules.push(
        i === eps.length - 1
          ? `-A ${svc} -j ${sep}`
          : `-A ${svc} -m statistic --mode random --probability ${shareProbability(i, eps.length)} -j ${sep}`,
      );
      const recent = sp.affinitySeconds
        ? ` -m recent --name ${sep} --mask 255.255.255.255 --rsource --set`
        : '';
      svcRules.push(
        `-A ${sep} -s ${ep.ip}/32 -j SHOAL-MARK-MASQ`,
        `-A ${sep} -p ${sp.protocol}${recent} -m ${sp.protocol} -j DNAT --to-destination ${ep.ip}:${ep.port}`,
      );
    });
  }
  natRules.push(
    `-A SHOAL-SERVICES -m addrtype --dst-type LOCAL -m comment --comment "node ports; must be last" -j SHOAL-NODEPORTS`,
  );

  const stale = [...(input.existingChains ?? [])]
    .filter((c) => /^SHOAL-(SVC|SEP)-/.test(c) && !chains.has(c))
    .sort();
  const declared = [...NAT_CHAINS, ...[...chains].sort(), ...stale];
  const nat = [
    '*nat',
    ...declared.map((c) => `:${c} - [0:0]`),
    ...natRules,
    ...nodePortRules,
    ...svcRules,
    ...stale.map((c) => `-X ${c}`),
    'COMMIT',
  ];
  const filter = [
    '*filter',
    ...FILTER_CHAINS.map((c) => `:${c} - [0:0]`),
    ...filterRules,
    'COMMIT',
  ];
  return { text: [...nat, ...filter, ''].join('\n'), chains };
}

/** Text that empties and deletes every Shoal chain named in `existing` (per table). */
export function renderRemoval(existing: { nat: string[]; filter: string[] }): string {
  const table = (name: string, chains: string[]): string[] =>
    chains.length === 0
      ? []
      : [
          `*${name}`,
          ...chains.map((c) => `:${c} - [0:0]`),
          ...chains.map((c) => `-X ${c}`),
          'COMMIT',
        ];
  return [...table('nat', existing.nat), ...table('filter', existing.filter), ''].join('\n');
}

/** Shoal's chains in `iptables-save` output, per table. */
export function shoalChainsIn(save: string): { nat: string[]; filter: string[] } {
  const out: { nat: string[]; filter: string[] } = { nat: [], filter: [] };
  let table: 'nat' | 'filter' | undefined;
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) {
      const t = line.slice(1).trim();
      table = t === 'nat' || t === 'filter' ? t : undefined;
    } else if (table && line.startsWith(`:${CHAIN_PREFIX}`)) {
      out[table].push(line.slice(1).split(' ')[0]!);
    }
  }
  return out;
}

/**
 * The Service ports to program from the cluster's Services and Endpoints:
 * those with a cluster IP (not headless, not ExternalName), each with the
 * ready addresses of the Endpoints subset port of the same name.
 */
export function servicePortsOf(services: KubeObject[], endpoints: KubeObject[]): ServicePort[] {
  const epByKey = new Map(endpoints.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  const out: ServicePort[] = [];
  for (const svc of services) {
    const spec = isRecord(svc.spec) ? svc.spec : {};
    const clusterIP = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(clusterIP) || spec.type === 'ExternalName') continue;
    const namespace = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name ?? '';
    const ep = epByKey.get(`${namespace}/${name}`);
    const subsets = ep && Array.isArray(ep.subsets) ? ep.subsets.filter(isRecord) : [];
    const affinity =
      spec.sessionAffinity === 'ClientIP'
        ? (readPath(spec, ['sessionAffinityConfig', 'clientIP', 'timeoutSeconds']) ?? 10800)
        : undefined;
    for (const p of Array.isArray(spec.ports) ? spec.ports.filter(isRecord) : []) {
      const protocol =
        p.protocol === 'UDP'
          ? 'udp'
          : p.protocol === 'TCP' || p.protocol === undefined
            ? 'tcp'
            : undefined;
      if (!protocol || typeof p.port !== 'number') continue;
      const portName = typeof p.name === 'string' ? p.name : '';
      const eps: Endpoint[] = [];
      for (const sub of subsets) {
        const ports = Array.isArray(sub.ports) ? sub.ports.filter(isRecord) : [];
        const match = ports.find(
          (ep) => (ep.name ?? '') === portName && (ep.protocol ?? 'TCP') === (p.protocol ?? 'TCP'),
        );
        if (!match || typeof match.port !== 'number') continue;
        for (const a of Array.isArray(sub.addresses) ? sub.addresses.filter(isRecord) : []) {
          if (typeof a.ip === 'string') eps.push({ ip: a.ip, port: match.port });
        }
      }
      out.push({
        namespace,
        name,
        portName,
        protocol,
        clusterIP,
        port: p.port,
        ...(typeof p.nodePort === 'number' &&
        (spec.type === 'NodePort' || spec.type === 'LoadBalancer')
          ? { nodePort: p.nodePort }
          : {}),
        ...(affinity !== undefined ? { affinitySeconds: affinity } : {}),
        endpoints: eps,
      });
    }
  }
  return out;
}

function readPath(obj: Record<string, unknown>, path: string[]): number | undefined {
  let v: unknown = obj;
  for (const k of path) v = isRecord(v) ? v[k] : undefined;
  return typeof v === 'number' ? v : undefined;
}
