// Node heartbeats as the kubelet sends them since Kubernetes 1.17: a Lease per
// node in kube-node-lease, renewed every heartbeat, and a Node status write
// only when something changed or every nodeStatusReportFrequency (5 minutes).
// A renewal is one small etcd compare-and-swap on the revision this process
// last wrote — no read before the write — instead of a read and a rewrite of
// the whole Node object (conditions, images, managedFields) that every Node
// watcher then receives. The node lifecycle controller reads renewTime.
//
// "Something changed" is the Ready condition not being True on the Node (the
// lifecycle controller set it Unknown while the agent was away): the gateway
// learns that from one watch on Nodes shared by all sessions, not from a read
// per heartbeat, and then writes the status at once.

import type { Logger } from 'pino';
import type { Registry } from '../api/registry/registry.js';
import { objectKey } from '../api/registry/keys.js';
import { findResource } from '../api/resources.js';
import { ApiError } from '../api/status.js';
import { isRecord, type KubeObject } from '../api/objects.js';
import { StoreError } from '../store/errors.js';
import type { WatchHandle } from '../store/types.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** The kubelet's default: a node whose lease is older than this is in trouble. */
export const NODE_LEASE_DURATION_SECONDS = 40;
/** The kubelet's nodeStatusReportFrequency: Node status is rewritten at least this often. */
export const NODE_STATUS_REPORT_MS = 5 * 60_000;

const LEASES = findResource('coordination.k8s.io', 'v1', 'leases')!;
const NODES = findResource('', 'v1', 'nodes')!;
const FIELD_MANAGER = 'shoal-agent';

/** Kubernetes' MicroTime: RFC 3339 with microseconds. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The Lease a node's heartbeat renews, owned by its Node so it goes with it. */
export function nodeLease(node: string, nodeUid: string | undefined, now: Date): KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: node,
      namespace: NODE_LEASE_NAMESPACE,
      ...(nodeUid
        ? {
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node, uid: nodeUid }],
          }
        : {}),
    },
    spec: {
      holderIdentity: node,
      leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS,
      renewTime: microTime(now),
    },
  };
}

/** Ready's status on a Node, as its agent's heartbeat should keep it. */
export function nodeReadyStatus(node: KubeObject): string | undefined {
  const status = isRecord(node.status) ? node.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
  const s = conditions.find((c) => c.type === 'Ready')?.status;
  return typeof s === 'string' ? s : undefined;
}

interface NodeState {
  /** The lease as this process last wrote it (its resourceVersion is the CAS revision). */
  lease?: KubeObject;
  nodeUid?: string;
  lastStatusWrite: number;
  /** The Node's Ready condition is not True: the next heartbeat must write status. */
  stale: boolean;
}

export interface NodeHeartbeatsOptions {
  registry: Registry;
  /** Writes the Node's status with a fresh Ready condition (the gateway's read-modify-write). */
  writeStatus: (node: string, now: Date) => Promise<void>;
  logger?: Logger;
  now?: () => Date;
}

export class NodeHeartbeats {
  private readonly nodes = new Map<string, NodeState>();
  private watch: WatchHandle | undefined;
  private watchStarting: Promise<void> | undefined;
  private readonly now: () => Date;

  constructor(private readonly opts: NodeHeartbeatsOptions) {
    this.now = opts.now ?? (() => new Date());
  }

  /** After a registration wrote the Node's status: track it and renew its lease now. */
  async registered(node: KubeObject): Promise<void> {
    const name = node.metadata.name ?? '';
    const state = this.nodes.get(name) ?? { lastStatusWrite: 0, stale: false };
    state.nodeUid = node.metadata.uid;
    state.lastStatusWrite = this.now().getTime();
    state.stale = nodeReadyStatus(node) !== 'True';
    this.nodes.set(name, state);
    await this.startWatch();
    await this.renewLease(name, state);
  }

  /** The agent is gone from this replica: forget what was cached for it. */
  forget(node: string): void {
    this.nodes.delete(node);
  }

  /** One heartbeat: renew the lease; write Node status only when due or needed. */
  async beat(node: string): Promise<void> {
    const state = this.nodes.get(node);
    if (!state) return;
    await this.renewLease(node, state);
    const now = this.now();
    if (!state.stale && now.getTime() - state.lastStatusWrite < NODE_STATUS_REPORT_MS) return;
    await this.opts.writeStatus(node, now);
    state.lastStatusWrite = now.getTime();
    state.stale = false;
  }

  async stop(): Promise<void> {
    await this.watch?.close();
    this.watch = undefined;
    this.nodes.clear();
  }

  private async renewLease(node: string, state: NodeState): Promise<void> {
    const now = this.now();
    const store = this.opts.registry.store;
    const key = objectKey(LEASES, NODE_LEASE_NAMESPACE, node);
    for (let attempt = 0; attempt < 3; attempt++) {
      const known = state.lease;
      if (known?.metadata.resourceVersion) {
        const spec = isRecord(known.spec) ? known.spec : {};
        const next: KubeObject = { ...known, spec: { ...spec, renewTime: microTime(now) } };
        try {
          state.lease = await store.update(key, next, Number(known.metadata.resourceVersion));
          return;
        } catch (err) {
          if (!(err instanceof StoreError)) throw err;
          // Someone else wrote it (another replica, a user): read it once and take it over.
          state.lease = undefined;
          if (err.type !== 'Conflict' && err.type !== 'NotFound') throw err;
        }
      }
      const current = await store.get(key);
      if (current) {
        const spec = isRecord(current.spec) ? current.spec : {};
        const takeover = spec.holderIdentity !== node;
        state.lease = {
          ...current,
          spec: {
            ...spec,
            holderIdentity: node,
            leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS,
            ...(takeover
              ? {
                  acquireTime: microTime(now),
                  leaseTransitions: Number(spec.leaseTransitions ?? 0) + 1,
                }
              : {}),
          },
        };
        continue;
      }
      try {
        state.lease = await this.opts.registry.create(
          LEASES,
          NODE_LEASE_NAMESPACE,
          nodeLease(node, state.nodeUid, now),
          { fieldManager: FIELD_MANAGER },
        );
        return;
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
      }
    }
    this.opts.logger?.warn({ node }, 'node lease renewal kept conflicting; next heartbeat retries');
  }

  /** One watch on Nodes for every session: notices a Ready condition that is not True. */
  private async startWatch(): Promise<void> {
    if (this.watch) return;
    this.watchStarting ??= (async () => {
      const revision = await this.opts.registry.store.currentRevision();
      this.watch = await this.opts.registry.watch(
        NODES,
        undefined,
        { resourceVersion: String(revision) },
        {
          onEvent: (ev) => {
            const state = this.nodes.get(ev.object.metadata.name ?? '');
            if (!state || ev.type === 'DELETED') return;
            state.nodeUid = ev.object.metadata.uid;
            if (nodeReadyStatus(ev.object) !== 'True') state.stale = true;
          },
          onError: (err) => {
            // Without the watch, fall back to writing status on every heartbeat until it is back.
            this.opts.logger?.warn({ err }, 'node watch for heartbeats ended; restarting');
            for (const s of this.nodes.values()) s.stale = true;
            this.watch = undefined;
            this.watchStarting = undefined;
            void this.startWatch().catch(() => undefined);
          },
        },
      );
    })();
    try {
      await this.watchStarting;
    } catch (err) {
      this.watchStarting = undefined;
      throw err;
    }
  }
}
