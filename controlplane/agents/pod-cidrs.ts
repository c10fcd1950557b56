// Pod CIDRs for Nodes, as kube-controller-manager's range allocator hands
// them out: one /<nodeMaskSize> (default /24) of --cluster-cidr (default
// 10.244.0.0/16) per Node, written into spec.podCIDR when the gateway
// creates the Node, given back when the Node is deleted.
//
// Cheap when many nodes join at once: which CIDRs are in use is an
// in-memory set kept by one list+watch of Nodes (not a list per register),
// and the search resumes where the last one stopped. The set is only a
// hint; the truth is etcd: each CIDR is a RangeClaim key created with a
// create_revision == 0 compare, so two replicas registering two nodes at the
// same instant cannot both take one CIDR, and the Node itself is written
// with a create (or a revision-compared update).

import type { Logger } from 'pino';
import type { Registry } from '../api/registry/registry.js';
import { findResource } from '../api/resources.js';
import { isRecord, type KubeObject } from '../api/objects.js';
import { formatCidr, parseIpv4Cidr, type Ipv4Cidr } from '../api/registry/ipv4.js';
import { RangeClaims, type ClaimOwner } from '../api/registry/range-claims.js';
import type { WatchHandle } from '../store/types.js';

const NODES = findResource('', 'v1', 'nodes')!;

export const DEFAULT_CLUSTER_CIDR = '10.244.0.0/16';

export interface PodCidrAllocatorOptions {
  registry: Registry;
  clusterCidr?: string;
  /** Prefix length of each node's CIDR; default 24. */
  nodeMaskSize?: number;
  logger?: Logger;
}

export class PodCidrAllocator {
  readonly clusterCidr: string;
  private readonly cidr: Ipv4Cidr;
  private readonly mask: number;
  private readonly slots: number;
  private readonly claims: RangeClaims;
  /** CIDR → the node holding it, from the watch. */
  private readonly used = new Map<string, string>();
  private hint = 0;
  private watch: WatchHandle | undefined;
  private started: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: PodCidrAllocatorOptions) {
    this.cidr = parseIpv4Cidr(opts.clusterCidr ?? DEFAULT_CLUSTER_CIDR, '--cluster-cidr');
    this.clusterCidr = formatCidr(this.cidr);
    this.mask = opts.nodeMaskSize ?? 24;
    if (!(this.mask >= this.cidr.prefix && this.mask <= 30)) {
      throw new Error(
        `node CIDR size /${this.mask} does not fit --cluster-cidr ${this.clusterCidr} (between /${this.cidr.prefix} and /30)`,
      );
    }
    this.slots = 2 ** (this.mask - this.cidr.prefix);
    this.claims = new RangeClaims(opts.registry.store, 'podcidrs', async (c) => {
      const node = await opts.registry.store.get(`/registry/nodes/${c.owner.name}`);
      return node !== undefined && podCidrOf(node) === c.value;
    });
  }

  /**
   * Claims a free CIDR for `node` and returns it (undefined when the range is
   * full). The caller writes it into the Node; if that write fails it must
   * call release().
   */
  async allocate(node: string): Promise<string | undefined> {
    await this.start();
    const owner = ownerOf(node);
    const from = this.hint;
    for (let i = 0; i < this.slots; i++) {
      const slot = (from + i) % this.slots;
      const cidr = formatCidr({
        base: this.cidr.base + slot * 2 ** (32 - this.mask),
        prefix: this.mask,
      });
      const holder = this.used.get(cidr);
      if (holder !== undefined && holder !== node) continue;
      if (await this.claims.claim(cidr, owner)) {
        this.used.set(cidr, node);
        this.hint = (slot + 1) % this.slots;
        return cidr;
      }
      // Taken in etcd: by another replica (the watch will say for whom) or by
      // a node whose release is still on its way. Not marked here, so a slot
      // freed a moment later is found by the next allocation.
    }
    return undefined;
  }

  async release(cidr: string, node: string): Promise<void> {
    if (this.used.get(cidr) === node) this.used.delete(cidr);
    await this.claims.release(cidr, ownerOf(node));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watch?.close();
    this.watch = undefined;
  }

  /** One list, then a watch from its revision; restarted after the watch fails. */
  private start(): Promise<void> {
    this.started ??= this.sync().catch((err: unknown) => {
      this.started = undefined;
      throw err;
    });
    return this.started;
  }

  private async sync(): Promise<void> {
    const list = await this.opts.registry.list(NODES, undefined);
    this.used.clear();
    for (const n of list.items) {
      const cidr = podCidrOf(n);
      if (cidr) this.used.set(cidr, n.metadata.name ?? '');
    }
    if (this.stopped) return;
    this.watch = await this.opts.registry.watch(
      NODES,
      undefined,
      { resourceVersion: String(list.revision) },
      {
        onEvent: (ev) => {
          const name = ev.object.metadata.name ?? '';
          const cidr = podCidrOf(ev.object);
          if (!cidr) return;
          if (ev.type !== 'DELETED') {
            this.used.set(cidr, name);
            return;
          }
          // Every replica sees the delete; release() is a no-op for all but the
          // first. The slot is offered again once its claim is gone.
          this.claims
            .release(cidr, ownerOf(name))
            .catch((err: unknown) => {
              this.opts.logger?.warn({ err, node: name, cidr }, 'releasing a pod CIDR failed');
            })
            .finally(() => {
              if (this.used.get(cidr) === name) this.used.delete(cidr);
            });
        },
        onError: (err) => {
          this.opts.logger?.warn({ err }, 'node watch for pod CIDRs ended; relisting');
          this.watch = undefined;
          this.started = undefined;
        },
      },
    );
  }
}

export function podCidrOf(node: KubeObject): string | undefined {
  const spec = isRecord(node.spec) ? node.spec : {};
  return typeof spec.podCIDR === 'string' && spec.podCIDR !== '' ? spec.podCIDR : undefined;
}

function ownerOf(node: string): ClaimOwner {
  return { kind: 'Node', name: node };
}
