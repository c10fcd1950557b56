// What every agent needs to route pod traffic between hosts and to program
// Services: the Nodes' pod CIDRs and addresses, the Services and their
// Endpoints. One list+watch per kind for the whole gateway (not one per agent
// stream), kept in memory; every subscribed agent gets the whole
// ClusterNetwork when it connects, then a delta (what was added, changed or
// removed) after each change. Changes are coalesced: a burst (a rollout
// touching a hundred Endpoints, a hundred nodes joining) costs at most one
// send per FLUSH_MS, and the one delta object goes to every agent, so the
// gateway encodes it once. Whole state after every change cost O(nodes) per
// agent per change: 1,000 nodes joining spent most of the control plane's CPU
// encoding route tables. The stream delivers in order and a reconnect starts
// with the whole state again, so an agent is never left with a partial view.

import type { Logger } from 'pino';
import type { Registry, WatchEvent } from '../api/registry/registry.js';
import { findResource, type ResourceInfo } from '../api/resources.js';
import { isRecord, namespacedName, type KubeObject } from '../api/objects.js';
import type { WatchHandle } from '../store/types.js';
import type { ClusterNetwork } from '../../proto/generated/shoal/agent/v1/ClusterNetwork.js';
import type { ControlMessage } from '../../proto/generated/shoal/agent/v1/ControlMessage.js';
import type { NodeRoute } from '../../proto/generated/shoal/agent/v1/NodeRoute.js';
import { podCidrOf } from './pod-cidrs.js';

const NODES = findResource('', 'v1', 'nodes')!;
const SERVICES = findResource('', 'v1', 'services')!;
const ENDPOINTS = findResource('', 'v1', 'endpoints')!;

/** At most one send per this many ms while changes keep coming. */
export const FLUSH_MS = 100;
const RELIST_MS = 1000;

export interface NetworkStateOptions {
  registry: Registry;
  clusterCidr: string;
  serviceCidr: string;
  /** The address pods use as their nameserver (NodeConfig.cluster_dns). */
  clusterDns: string;
  clusterDomain?: string;
  logger?: Logger;
}

type Send = (msg: ControlMessage) => void;

interface Kind {
  resource: ResourceInfo;
  /** namespace/name → what agents get of it. */
  items: Map<string, string>;
  /** Keys changed since the last send. */
  dirty: Set<string>;
  watch?: WatchHandle;
}

export class NetworkState {
  private readonly nodes = new Map<string, NodeRoute>();
  private readonly kinds: Kind[] = [
    { resource: SERVICES, items: new Map(), dirty: new Set() },
    { resource: ENDPOINTS, items: new Map(), dirty: new Set() },
  ];
  /** Node names changed since the last send. */
  private readonly dirtyNodes = new Set<string>();
  private nodeWatch: WatchHandle | undefined;
  private readonly subscribers = new Set<Send>();
  private started: Promise<void> | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  /** How long the last send to every agent took, in ms. */
  private lastFlushCost = 0;
  private current: ControlMessage | undefined;
  private relist: NodeJS.Timeout | undefined;

  constructor(private readonly opts: NetworkStateOptions) {}

  /**
   * Sends the node config and the whole network to `send` now, and what
   * changed after every change until the returned function is called.
   */
  async subscribe(send: Send): Promise<() => void> {
    await this.start();
    send({
      node_config: {
        cluster_dns: this.opts.clusterDns,
        cluster_domain: this.opts.clusterDomain ?? 'cluster.local',
      },
    });
    send(this.message());
    this.subscribers.add(send);
    return () => {
      this.subscribers.delete(send);
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.relist) clearTimeout(this.relist);
    await this.closeWatches();
    this.subscribers.clear();
  }

  /** The whole network, as an agent gets it on connect (built once per change). */
  message(): ControlMessage {
    this.current ??= { network: this.build() };
    return this.current;
  }

  /** What changed since the last send; removes the marks. */
  private delta(): ControlMessage {
    const nodes: NodeRoute[] = [];
    const removedNodes: string[] = [];
    for (const name of this.dirtyNodes) {
      const route = this.nodes.get(name);
      if (route) nodes.push(route);
      else removedNodes.push(name);
    }
    this.dirtyNodes.clear();
    const [services, endpoints] = this.kinds.map((k) => {
      const upserts: string[] = [];
      const removed: string[] = [];
      for (const key of k.dirty) {
        const v = k.items.get(key);
        if (v === undefined) removed.push(key);
        else upserts.push(v);
      }
      k.dirty.clear();
      return { upserts, removed };
    }) as [Changes, Changes];
    return {
      network: {
        delta: true,
        nodes,
        removed_nodes: removedNodes,
        services_json: services.upserts,
        removed_services: services.removed,
        endpoints_json: endpoints.upserts,
        removed_endpoints: endpoints.removed,
        cluster_cidr: this.opts.clusterCidr,
        service_cidr: this.opts.serviceCidr,
      },
    };
  }

  private build(): ClusterNetwork {
    const sorted = (m: Map<string, string>): string[] =>
      [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
    return {
      nodes: [...this.nodes.values()].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '')),
      services_json: sorted(this.kinds[0]!.items),
      endpoints_json: sorted(this.kinds[1]!.items),
      cluster_cidr: this.opts.clusterCidr,
      service_cidr: this.opts.serviceCidr,
    };
  }

  private start(): Promise<void> {
    this.started ??= this.sync().catch((err: unknown) => {
      this.started = undefined;
      throw err;
    });
    return this.started;
  }

  /** Lists each kind and watches it from the list's revision. */
  private async sync(): Promise<void> {
    const reg = this.opts.registry;
    const nodes = await reg.list(NODES, undefined);
    // A relist: names that vanished while the watch was down are deltas too.
    for (const name of this.nodes.keys()) this.dirtyNodes.add(name);
    this.nodes.clear();
    for (const n of nodes.items) this.onNode({ type: 'ADDED', object: n });
    this.nodeWatch = await reg.watch(
      NODES,
      undefined,
      { resourceVersion: String(nodes.revision) },
      { onEvent: (ev) => this.onNode(ev), onError: (err) => this.failed(err) },
    );
    for (const kind of this.kinds) {
      const list = await reg.list(kind.resource, undefined);
      for (const key of kind.items.keys()) kind.dirty.add(key);
      kind.items.clear();
      for (const o of list.items) {
        kind.items.set(namespacedName(o), slim(o));
        kind.dirty.add(namespacedName(o));
      }
      kind.watch = await reg.watch(
        kind.resource,
        undefined,
        { resourceVersion: String(list.revision) },
        {
          onEvent: (ev) => {
            const key = namespacedName(ev.object);
            if (ev.type === 'DELETED') kind.items.delete(key);
            else {
              const next = slim(ev.object);
              if (kind.items.get(key) === next) return;
              kind.items.set(key, next);
            }
            kind.dirty.add(key);
            this.changed();
          },
          onError: (err) => this.failed(err),
        },
      );
    }
    this.changed();
  }

  private onNode(ev: WatchEvent): void {
    const name = ev.object.metadata.name ?? '';
    const before = this.nodes.get(name);
    if (ev.type === 'DELETED') {
      if (!before) return;
      this.nodes.delete(name);
    } else {
      const route: NodeRoute = {
        name,
        pod_cidr: podCidrOf(ev.object) ?? '',
        internal_ip: internalIpOf(ev.object),
      };
      // Heartbeats rewrite Nodes every few seconds; only routes matter here.
      if (before && before.pod_cidr === route.pod_cidr && before.internal_ip === route.internal_ip)
        return;
      this.nodes.set(name, route);
    }
    this.dirtyNodes.add(name);
    this.changed();
  }

  /** A watch ended (compaction, etcd away): relist everything, then tell every agent. */
  private failed(err: Error): void {
    if (this.stopped || this.relist) return;
    this.opts.logger?.warn({ err }, 'network watch ended; relisting');
    this.relist = setTimeout(() => {
      this.relist = undefined;
      void this.closeWatches().then(() => {
        this.started = undefined;
        if (!this.stopped)
          this.start().catch((e: unknown) =>
            this.failed(e instanceof Error ? e : new Error(String(e))),
          );
      });
    }, RELIST_MS);
  }

  private async closeWatches(): Promise<void> {
    await this.nodeWatch?.close();
    this.nodeWatch = undefined;
    for (const k of this.kinds) {
      await k.watch?.close();
      k.watch = undefined;
    }
  }

  /**
   * Sends once the last send is FLUSH_MS old, or ten times as old as that
   * send took: a send is one write per connected agent, and with thousands
   * of agents joining, sends every 100 ms would take the whole CPU (each join
   * is a change). So sends take at most about a tenth of it.
   */
  private changed(): void {
    this.current = undefined;
    if (this.timer) return;
    const gap = Math.max(FLUSH_MS, 10 * this.lastFlushCost);
    const wait = Math.max(0, this.lastFlush + gap - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const started = performance.now();
      const msg = this.delta();
      for (const send of this.subscribers) {
        try {
          send(msg);
        } catch (err) {
          this.opts.logger?.warn({ err }, 'sending the cluster network failed');
        }
      }
      this.lastFlush = Date.now();
      this.lastFlushCost = performance.now() - started;
    }, wait);
  }
}

interface Changes {
  upserts: string[];
  removed: string[];
}

/** The object without write bookkeeping, which agents never read. */
function slim(o: KubeObject): string {
  const { managedFields: _mf, resourceVersion: _rv, ...metadata } = o.metadata;
  return JSON.stringify({ ...o, metadata });
}

function internalIpOf(node: KubeObject): string {
  const status = isRecord(node.status) ? node.status : {};
  const addresses = Array.isArray(status.addresses) ? status.addresses.filter(isRecord) : [];
  const ip = addresses.find((a) => a.type === 'InternalIP')?.address;
  return typeof ip === 'string' ? ip : '';
}
