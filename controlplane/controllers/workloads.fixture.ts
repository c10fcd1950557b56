// Test fixture for the workload controllers: a real etcd, the real
// Registry wrapped so every write is recorded as an action, fresh informers
// per test, and small stand-ins for what other parts do in a cluster — a
// "kubelet" that binds pods, reports them ready and finishes their graceful
// deletion, and kubectl's rollout-status rule.

import { findResource, type ResourceInfo } from '../api/resources.js';
import type { KubeObject } from '../api/objects.js';
import {
  Registry,
  type DeleteOptions,
  type PatchType,
  type WriteOptions,
} from '../api/registry/registry.js';
import { EtcdStore } from '../store/etcd-store.js';
import { startEtcd, type TestEtcd } from '../../test/support/etcd.js';
import { InformerFactory } from './runtime/factory.js';
import { EventRecorder } from './runtime/events.js';
import type { ControllerDeps } from './types.js';
import { rec, rfc3339 } from './pod-control.js';

export const PODS = findResource('', 'v1', 'pods')!;
export const REPLICASETS = findResource('apps', 'v1', 'replicasets')!;
export const DEPLOYMENTS = findResource('apps', 'v1', 'deployments')!;
export const NAMESPACES = findResource('', 'v1', 'namespaces')!;
export const EVENTS = findResource('', 'v1', 'events')!;

export interface Action {
  verb: 'create' | 'update' | 'patch' | 'delete';
  resource: string;
  namespace: string | undefined;
  name: string;
  subresource?: 'status';
  body?: unknown;
  /** For creates: the slow-start batch it started in (a batch starts when no create is in flight). */
  batch?: number;
}

/** The real Registry, recording each write's request as it starts. */
export class RecordingRegistry extends Registry {
  actions: Action[] = [];
  private inFlightCreates = 0;
  private batches = 0;

  override async create(
    r: ResourceInfo,
    namespace: string | undefined,
    body: unknown,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    if (r.plural === 'pods' && this.inFlightCreates === 0) this.batches++;
    const action: Action = {
      verb: 'create',
      resource: r.plural,
      namespace,
      name: String(rec(rec(body).metadata).name ?? rec(rec(body).metadata).generateName ?? ''),
      body: structuredClone(body),
    };
    if (r.plural === 'pods') {
      action.batch = this.batches;
      this.inFlightCreates++;
    }
    this.actions.push(action);
    try {
      return await super.create(r, namespace, body, opts);
    } finally {
      if (r.plural === 'pods') this.inFlightCreates--;
    }
  }

  override update(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    this.actions.push({
      verb: 'update',
      resource: r.plural,
      namespace,
      name,
      ...(opts.subresource ? { subresource: opts.subresource } : {}),
      body: structuredClone(body),
    });
    return super.update(r, namespace, name, body, opts);
  }

  override patch(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: WriteOptions = {},
  ): Promise<{ object: KubeObject; created: boolean }> {
    this.actions.push({
      verb: 'patch',
      resource: r.plural,
      namespace,
      name,
      body: structuredClone(patch),
    });
    return super.patch(r, namespace, name, type, patch, opts);
  }

  override delete(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    this.actions.push({ verb: 'delete', resource: r.plural, namespace, name });
    return super.delete(r, namespace, name, opts);
  }

  /** The recorded writes, without Events, and forgets them. */
  take(): Action[] {
    const out = this.actions.filter((a) => a.resource !== 'events');
    this.actions = [];
    return out;
  }
}

export interface Cluster {
  registry: RecordingRegistry;
  close(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  const etcd: TestEtcd = await startEtcd();
  const store = new EtcdStore({ endpoints: etcd.endpoints });
  const registry = new RecordingRegistry(store);
  try {
    await registry.ensureSystemNamespaces();
  } catch (err) {
    await store.close();
    await etcd.stop();
    throw err;
  }
  return {
    registry,
    close: async () => {
      await store.close();
      await etcd.stop();
    },
  };
}

/** Controller deps over fresh informers; start them with deps.informers.start(). */
export function depsFor(registry: Registry): ControllerDeps {
  return {
    registry,
    informers: new InformerFactory(registry),
    events: new EventRecorder(registry, 'test-controller-manager'),
  };
}

let nsCounter = 0;
export async function newNamespace(registry: Registry): Promise<string> {
  const name = `t${process.pid}-${++nsCounter}`;
  await registry.create(NAMESPACES, undefined, { metadata: { name } });
  return name;
}

/** Polls until check passes (a wait for the caches, not a timing assertion). */
export async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function podTemplate(
  labels: Record<string, string>,
  image = 'busybox:1.36',
): KubeObject['spec'] {
  return {
    metadata: { labels },
    spec: { containers: [{ name: 'app', image, command: ['sleep', '3600'] }] },
  };
}

/** Reports a pod Running and Ready, as its agent would (status subresource). */
export async function markReady(
  registry: Registry,
  pod: KubeObject,
  at = new Date(),
): Promise<KubeObject> {
  const status = rec(pod.status);
  return registry.update(
    PODS,
    pod.metadata.namespace,
    pod.metadata.name ?? '',
    {
      ...pod,
      status: {
        ...status,
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: rfc3339(at) }],
      },
    },
    { subresource: 'status' },
  );
}

/**
 * A stand-in for node agents: each step() binds one unbound pod, or marks
 * one bound pod ready, or finishes one graceful deletion — one change at a
 * time, so controllers see every intermediate state.
 */
export class FakeKubelet {
  constructor(
    private readonly registry: Registry,
    private readonly namespace: string,
    private readonly opts: { finishDeletions?: boolean } = {},
  ) {}

  async step(): Promise<boolean> {
    const { items } = await this.registry.list(PODS, this.namespace);
    const sorted = items.sort((a, b) =>
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
    );
    if (this.opts.finishDeletions !== false) {
      const terminating = sorted.find((p) => p.metadata.deletionTimestamp);
      if (terminating) {
        await this.registry
          .delete(PODS, this.namespace, terminating.metadata.name ?? '', { gracePeriodSeconds: 0 })
          .catch(() => undefined);
        return true;
      }
    }
    const unbound = sorted.find((p) => !rec(p.spec).nodeName && !p.metadata.deletionTimestamp);
    if (unbound) {
      await this.registry
        .bind(PODS, this.namespace, unbound.metadata.name ?? '', 'node-1')
        .catch(() => undefined);
      return true;
    }
    const notReady = sorted.find(
      (p) => !p.metadata.deletionTimestamp && rec(p.status).phase !== 'Running',
    );
    if (notReady) {
      await markReady(this.registry, notReady).catch(() => undefined);
      return true;
    }
    return false;
  }
}

/** kubectl's DeploymentStatusViewer.Status, line for line (polymorphichelpers/rollout_status.go). */
export function rolloutStatus(d: KubeObject): { message: string; done: boolean } {
  const name = d.metadata.name ?? '';
  const spec = rec(d.spec);
  const st = rec(d.status);
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  if ((d.metadata.generation ?? 0) <= n(st.observedGeneration)) {
    const conditions = Array.isArray(st.conditions) ? st.conditions.map(rec) : [];
    const progressing = conditions.find((c) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded')
      throw new Error(`deployment "${name}" exceeded its progress deadline`);
    if (typeof spec.replicas === 'number' && n(st.updatedReplicas) < spec.replicas)
      return {
        message: `Waiting for deployment "${name}" rollout to finish: ${n(st.updatedReplicas)} out of ${spec.replicas} new replicas have been updated...`,
        done: false,
      };
    if (n(st.replicas) > n(st.updatedReplicas))
      return {
        message: `Waiting for deployment "${name}" rollout to finish: ${n(st.replicas) - n(st.updatedReplicas)} old replicas are pending termination...`,
        done: false,
      };
    if (n(st.availableReplicas) < n(st.updatedReplicas))
      return {
        message: `Waiting for deployment "${name}" rollout to finish: ${n(st.availableReplicas)} of ${n(st.updatedReplicas)} updated replicas are available...`,
        done: false,
      };
    return { message: `deployment "${name}" successfully rolled out`, done: true };
  }
  return { message: 'Waiting for deployment spec update to be observed...', done: false };
}
