// Service addresses and node ports, as kube-apiserver's service REST storage
// allocates them: spec.clusterIP from --service-cidr (requested ones are
// honoured when free and in range; "None" is headless and gets nothing),
// spec.ports[].nodePort from 30000–32767 for NodePort/LoadBalancer Services,
// released when the Service is deleted or stops needing them. Each value is
// a RangeClaim (range-claims.ts), written before the Service itself and
// removed again if that write fails, so two replicas never hand out one
// value twice. The cluster DNS address (the CIDR's .10, kube-dns's) is
// reserved: every node answers it (nodeagent/network/dns.ts).

import type { KubeObject } from '../objects.js';
import { isRecord } from '../objects.js';
import { invalid as invalidStatus, type FieldError } from '../status.js';
import { invalid } from '../validation/field.js';
import type { Store } from '../../store/types.js';
import { NODE_PORT_MAX, NODE_PORT_MIN } from '../validation/service.js';
import {
  cidrContains,
  formatCidr,
  intToIpv4,
  ipv4ToInt,
  parseIpv4Cidr,
  type Ipv4Cidr,
} from './ipv4.js';
import { RangeClaims, type Claim, type ClaimOwner } from './range-claims.js';

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';

export interface ServiceAllocatorOptions {
  serviceCidr?: string;
  nodePortMin?: number;
  nodePortMax?: number;
  now?: () => number;
}

/** The address every node's DNS server answers on: the service CIDR's 10th, as kube-dns's 10.96.0.10. */
export function clusterDnsAddress(serviceCidr: string): string {
  return intToIpv4(parseIpv4Cidr(serviceCidr, '--service-cidr').base + 10);
}

/** What an allocation claimed; undo() gives back the claims if the write it was for failed. */
export interface ServiceClaims {
  undo(): Promise<void>;
  /** After the write succeeded: release what the old object held and the new one does not. */
  commit(): Promise<void>;
}

const RANDOM_TRIES = 16;

export class ServiceAllocator {
  readonly serviceCidr: string;
  readonly dnsAddress: string;
  private readonly cidr: Ipv4Cidr;
  private readonly portMin: number;
  private readonly portMax: number;
  private readonly ips: RangeClaims;
  private readonly ports: RangeClaims;

  constructor(
    private readonly store: Store,
    opts: ServiceAllocatorOptions = {},
  ) {
    this.cidr = parseIpv4Cidr(opts.serviceCidr ?? DEFAULT_SERVICE_CIDR, '--service-cidr');
    if (this.cidr.prefix > 28) throw new Error('--service-cidr must be /28 or larger');
    this.serviceCidr = formatCidr(this.cidr);
    this.dnsAddress = intToIpv4(this.cidr.base + 10);
    this.portMin = opts.nodePortMin ?? NODE_PORT_MIN;
    this.portMax = opts.nodePortMax ?? NODE_PORT_MAX;
    const now = opts.now ?? Date.now;
    this.ips = new RangeClaims(
      store,
      'serviceips',
      (c) => this.ownerHolds(c, (s) => s.clusterIP === c.value),
      now,
    );
    this.ports = new RangeClaims(
      store,
      'servicenodeports',
      (c) => this.ownerHolds(c, (s) => nodePortsOf(s).includes(Number(c.value))),
      now,
    );
  }

  /**
   * Fills in spec.clusterIP(s) and missing nodePorts of a new Service, in
   * place, and claims them. A requested value that is out of range or taken
   * is a 422 naming the field; nothing stays claimed then.
   */
  async allocateCreate(svc: KubeObject): Promise<ServiceClaims> {
    return this.allocate(undefined, svc);
  }

  /**
   * For an update: carries the allocated clusterIP and nodePorts over where
   * the client left them out (as a PUT of an edited manifest does), and
   * claims node ports the new spec needs that the old did not have.
   */
  async allocateUpdate(current: KubeObject, next: KubeObject): Promise<ServiceClaims> {
    keepAllocated(current, next);
    return this.allocate(current, next);
  }

  /** Releases everything the Service holds (after it is deleted). */
  async releaseAll(svc: KubeObject): Promise<void> {
    const owner = ownerOf(svc);
    const spec = specOf(svc);
    if (typeof spec.clusterIP === 'string' && spec.clusterIP !== 'None' && spec.clusterIP !== '')
      await this.ips.release(spec.clusterIP, owner);
    for (const p of nodePortsOf(spec)) await this.ports.release(String(p), owner);
  }

  private async allocate(current: KubeObject | undefined, svc: KubeObject): Promise<ServiceClaims> {
    const owner = ownerOf(svc);
    const spec = specOf(svc);
    const type = typeof spec.type === 'string' ? spec.type : 'ClusterIP';
    const newIps: string[] = [];
    const newPorts: number[] = [];
    const undo = async (): Promise<void> => {
      for (const ip of newIps) await this.ips.release(ip, owner);
      for (const p of newPorts) await this.ports.release(String(p), owner);
    };
    const fail = async (err: FieldError): Promise<never> => {
      await undo();
      throw invalidStatus('Service', '', svc.metadata.name ?? '', [err]);
    };
    const oldSpec = current ? specOf(current) : {};

    if (type === 'ExternalName') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    } else if (spec.clusterIP !== 'None') {
      const requested = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
      if (requested && requested === oldSpec.clusterIP) {
        // Already this Service's (an update that keeps it).
      } else if (requested) {
        const n = ipv4ToInt(requested);
        if (n === undefined || !this.usable(n)) {
          await fail(
            invalid(
              'spec.clusterIP',
              requested,
              n === this.cidr.base + 10
                ? 'provided IP is already allocated (reserved for the cluster DNS)'
                : `provided IP is not in the valid range. The range of valid IPs is ${this.serviceCidr}`,
            ),
          );
        }
        if (!(await this.ips.claim(requested, owner)))
          await fail(invalid('spec.clusterIP', requested, 'provided IP is already allocated'));
        newIps.push(requested);
      } else {
        const ip = await this.pickIp(owner);
        if (!ip) await fail(invalid('spec.clusterIP', '', 'range is full'));
        newIps.push(ip!);
        spec.clusterIP = ip;
      }
    }
    if (type !== 'ExternalName' && typeof spec.clusterIP === 'string')
      spec.clusterIPs = [spec.clusterIP];

    const oldPorts = new Set(nodePortsOf(oldSpec));
    if (type === 'NodePort' || type === 'LoadBalancer') {
      const ports = Array.isArray(spec.ports) ? spec.ports.filter(isRecord) : [];
      for (const [i, p] of ports.entries()) {
        const requested = typeof p.nodePort === 'number' ? p.nodePort : 0;
        if (requested) {
          if (oldPorts.has(requested)) continue;
          if (requested < this.portMin || requested > this.portMax) {
            await fail(
              invalid(
                `spec.ports[${i}].nodePort`,
                requested,
                `provided port is not in the valid range. The range of valid ports is ${this.portMin}-${this.portMax}`,
              ),
            );
          }
          // One Service may use a port number for TCP and UDP alike.
          if (newPorts.includes(requested)) continue;
          if (!(await this.ports.claim(String(requested), owner)))
            await fail(
              invalid(`spec.ports[${i}].nodePort`, requested, 'provided port is already allocated'),
            );
          newPorts.push(requested);
        } else {
          const port = await this.pickPort(owner);
          if (port === undefined)
            await fail(invalid(`spec.ports[${i}].nodePort`, 0, 'range is full'));
          newPorts.push(port!);
          p.nodePort = port;
        }
      }
    } else if (Array.isArray(spec.ports)) {
      // A Service that is no longer NodePort gives its node ports back.
      for (const p of spec.ports) if (isRecord(p)) delete p.nodePort;
    }
    const stillHeld = new Set(nodePortsOf(spec));
    const keptIp = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
    return {
      undo,
      commit: async () => {
        if (!current) return;
        const oldOwner = ownerOf(current);
        for (const p of oldPorts)
          if (!stillHeld.has(p)) await this.ports.release(String(p), oldOwner);
        const oldIp = typeof oldSpec.clusterIP === 'string' ? oldSpec.clusterIP : '';
        if (oldIp && oldIp !== 'None' && oldIp !== keptIp) await this.ips.release(oldIp, oldOwner);
      },
    };
  }

  /** In the CIDR, not its network or broadcast address, not the DNS address. */
  private usable(n: number): boolean {
    return (
      cidrContains(this.cidr, n) &&
      n !== this.cidr.base &&
      n !== this.cidr.base + this.cidr.size - 1 &&
      n !== this.cidr.base + 10
    );
  }

  /** Random picks first (cheap while the range is sparse), then whatever the claims list leaves free. */
  private async pickIp(owner: ClaimOwner): Promise<string | undefined> {
    const span = this.cidr.size - 2;
    for (let i = 0; i < RANDOM_TRIES; i++) {
      const n = this.cidr.base + 1 + Math.floor(Math.random() * span);
      if (!this.usable(n)) continue;
      if (await this.ips.claim(intToIpv4(n), owner)) return intToIpv4(n);
    }
    const taken = new Set((await this.ips.list()).map((c: Claim) => c.value));
    for (let n = this.cidr.base + 1; n < this.cidr.base + this.cidr.size - 1; n++) {
      const ip = intToIpv4(n);
      if (!this.usable(n) || taken.has(ip)) continue;
      if (await this.ips.claim(ip, owner)) return ip;
    }
    return undefined;
  }

  private async pickPort(owner: ClaimOwner): Promise<number | undefined> {
    const span = this.portMax - this.portMin + 1;
    for (let i = 0; i < RANDOM_TRIES; i++) {
      const p = this.portMin + Math.floor(Math.random() * span);
      if (await this.ports.claim(String(p), owner)) return p;
    }
    const taken = new Set((await this.ports.list()).map((c) => Number(c.value)));
    for (let p = this.portMin; p <= this.portMax; p++) {
      if (taken.has(p)) continue;
      if (await this.ports.claim(String(p), owner)) return p;
    }
    return undefined;
  }

  /** A Service still holds a value if it exists with the claim's uid and still uses the value. */
  private async ownerHolds(
    claim: Claim,
    uses: (spec: Record<string, unknown>) => boolean,
  ): Promise<boolean> {
    const { namespace = 'default', name } = claim.owner;
    const svc = await this.store.get(`/registry/services/${namespace}/${name}`);
    if (!svc || svc.metadata.uid !== claim.owner.uid) return false;
    return uses(specOf(svc));
  }
}

/** A PUT that leaves out clusterIP or a port's nodePort keeps the allocated ones (Kubernetes' PatchAllocatedValues). */
export function keepAllocated(current: KubeObject, next: KubeObject): void {
  const oldSpec = specOf(current);
  const spec = specOf(next);
  if (!isRecord(next.spec)) next.spec = spec;
  if (spec.type === 'ExternalName') return;
  if ((spec.clusterIP === undefined || spec.clusterIP === '') && oldSpec.clusterIP !== undefined) {
    spec.clusterIP = oldSpec.clusterIP;
    if (oldSpec.clusterIPs !== undefined) spec.clusterIPs = structuredClone(oldSpec.clusterIPs);
  }
  if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') return;
  const oldPorts = Array.isArray(oldSpec.ports) ? oldSpec.ports.filter(isRecord) : [];
  const ports = Array.isArray(spec.ports) ? spec.ports.filter(isRecord) : [];
  for (const p of ports) {
    if (p.nodePort) continue;
    const same =
      oldPorts.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP')) ??
      (ports.length === 1 && oldPorts.length === 1 ? oldPorts[0] : undefined);
    if (same && typeof same.nodePort === 'number') p.nodePort = same.nodePort;
  }
}

function specOf(obj: KubeObject): Record<string, unknown> {
  if (!isRecord(obj.spec)) obj.spec = {};
  return obj.spec as Record<string, unknown>;
}

function nodePortsOf(spec: Record<string, unknown>): number[] {
  const ports = Array.isArray(spec.ports) ? spec.ports.filter(isRecord) : [];
  return [
    ...new Set(ports.map((p) => p.nodePort).filter((n): n is number => typeof n === 'number')),
  ];
}

function ownerOf(svc: KubeObject): ClaimOwner {
  return {
    kind: 'Service',
    namespace: svc.metadata.namespace ?? 'default',
    name: svc.metadata.name ?? '',
    uid: svc.metadata.uid ?? '',
  };
}
