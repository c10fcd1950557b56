// Test support for the DaemonSet, Job, garbage-collector and Endpoints
// controller tests: a real etcd and Registry, a registry that records the
// writes a controller sends (the "actions" sample-controller's tests assert),
// an event recorder that records what it is told, and settle(), which waits
// until the informer caches show what etcd holds, so one reconcile sees the
// fixture. useHarness() registers the hooks each test file repeats. Not
// imported by production code.

import { afterAll, afterEach, beforeAll } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { isRecord } from '../api/objects.js';
import {
  Registry,
  type DeleteOptions,
  type PatchType,
  type WriteOptions,
} from '../api/registry/registry.js';
import { findResource, type ResourceInfo } from '../api/resources.js';
import { EtcdStore } from '../store/etcd-store.js';
import { startEtcd, type TestEtcd } from '../../test/support/etcd.js';
import { EventRecorder, type EventType } from './runtime/events.js';
import { InformerFactory } from './runtime/factory.js';
import type { ControllerDeps } from './types.js';

export const PODS = findResource('', 'v1', 'pods')!;
export const NODES = findResource('', 'v1', 'nodes')!;
export const NAMESPACES = findResource('', 'v1', 'namespaces')!;
export const SERVICES = findResource('', 'v1', 'services')!;
export const ENDPOINTS = findResource('', 'v1', 'endpoints')!;
export const CONFIGMAPS = findResource('', 'v1', 'configmaps')!;
export const DAEMONSETS = findResource('apps', 'v1', 'daemonsets')!;
export const REPLICASETS = findResource('apps', 'v1', 'replicasets')!;
export const JOBS = findResource('batch', 'v1', 'jobs')!;

export interface Action {
  verb: 'create' | 'update' | 'patch' | 'delete';
  resource: string;
  namespace: string | undefined;
  /** For a create with generateName, the generated name. */
  name: string;
  subresource?: string;
  propagationPolicy?: string;
  object?: KubeObject;
}

/** A Registry that remembers every write made through it. */
export class RecordingRegistry extends Registry {
  actions: Action[] = [];

  /** The actions since the last take(), then forgets them. */
  take(): Action[] {
    const out = this.actions;
    this.actions = [];
    return out;
  }

  override async create(
    r: ResourceInfo,
    namespace: string | undefined,
    body: unknown,
    opts?: WriteOptions,
  ): Promise<KubeObject> {
    const obj = await super.create(r, namespace, body, opts);
    this.actions.push({
      verb: 'create',
      resource: r.plural,
      namespace,
      name: obj.metadata.name ?? '',
      object: obj,
    });
    return obj;
  }

  override async update(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    const obj = await super.update(r, namespace, name, body, opts);
    this.actions.push({
      verb: 'update',
      resource: r.plural,
      namespace,
      name,
      ...(opts.subresource ? { subresource: opts.subresource } : {}),
      object: obj,
    });
    return obj;
  }

  override async patch(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: WriteOptions = {},
  ): Promise<{ object: KubeObject; created: boolean }> {
    const out = await super.patch(r, namespace, name, type, patch, opts);
    this.actions.push({ verb: 'patch', resource: r.plural, namespace, name, object: out.object });
    return out;
  }

  override async delete(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    const out = await super.delete(r, namespace, name, opts);
    this.actions.push({
      verb: 'delete',
      resource: r.plural,
      namespace,
      name,
      ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
    });
    return out;
  }
}

export interface RecordedEvent {
  type: EventType;
  reason: string;
  message: string;
  object: string;
}

/** Records events in memory instead of writing them (no fire-and-forget writes to wait for). */
export class RecordingEventRecorder extends EventRecorder {
  recorded: RecordedEvent[] = [];

  override event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    this.recorded.push({ type, reason, message, object: `${obj.kind}/${obj.metadata.name}` });
  }
}

export interface Harness {
  etcd: TestEtcd;
  store: EtcdStore;
  /** Writes by the test itself: not recorded. */
  api: Registry;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const etcd = await startEtcd();
  const store = new EtcdStore({ endpoints: etcd.endpoints });
  const api = new Registry(store);
  try {
    await api.ensureSystemNamespaces();
  } catch (err) {
    await store.close();
    await etcd.stop();
    throw err;
  }
  return {
    etcd,
    store,
    api,
    stop: async () => {
      await store.close();
      await etcd.stop();
    },
  };
}

/** The fixtures made on a useHarness() harness and not yet stopped. */
const liveFixtures = new WeakMap<Harness, Fixture[]>();

/**
 * The per-file hooks of a test on etcd: a Harness started before all tests
 * and stopped after them; after each test, every Fixture made with
 * newFixture() on it is stopped (its tracked controllers first), then
 * opts.afterEach runs. opts.beforeStop runs before the harness stops. The
 * returned Harness can be used inside tests and hooks registered after this
 * call; before beforeAll has run its fields throw.
 */
export function useHarness(
  opts: { afterEach?: (h: Harness) => Promise<void>; beforeStop?: () => Promise<void> } = {},
): Harness {
  let started: Harness | undefined;
  const get = (): Harness => {
    if (!started) throw new Error('useHarness(): the harness starts in beforeAll');
    return started;
  };
  const h: Harness = {
    get etcd() {
      return get().etcd;
    },
    get store() {
      return get().store;
    },
    get api() {
      return get().api;
    },
    stop: () => get().stop(),
  };
  const fixtures: Fixture[] = [];
  liveFixtures.set(h, fixtures);
  beforeAll(async () => {
    started = await startHarness();
  });
  afterEach(async () => {
    try {
      // Clears the timers a reconcile may have set (deadlines, TTLs) and the watches.
      for (let f = fixtures.pop(); f; f = fixtures.pop()) await f.stop();
    } finally {
      await opts.afterEach?.(h);
    }
  });
  afterAll(async () => {
    try {
      await opts.beforeStop?.();
    } finally {
      await started?.stop();
    }
  });
  return h;
}

/** One test's controller world: its own informers, recorder and recording registry on the shared etcd. */
export interface Fixture {
  deps: ControllerDeps;
  registry: RecordingRegistry;
  events: RecordingEventRecorder;
  informers: InformerFactory;
  /** Starts the informers the controllers asked for and waits for them to list. */
  start(): Promise<void>;
  /** Waits until the caches of `resources` hold exactly what etcd holds. */
  settle(...resources: ResourceInfo[]): Promise<void>;
  /** Has stop() stop this (a controller) before the informers; returns it. */
  track<C extends { stop(): Promise<void> }>(controller: C): C;
  /** Stops the tracked controllers, newest first, then the informers. */
  stop(): Promise<void>;
}

export function newFixture(h: Harness): Fixture {
  const registry = new RecordingRegistry(h.store);
  const events = new RecordingEventRecorder(registry, 'test');
  const informers = new InformerFactory(registry);
  const tracked: { stop(): Promise<void> }[] = [];
  const fixture: Fixture = {
    deps: { registry, informers, events },
    registry,
    events,
    informers,
    start: () => informers.start(),
    settle: async (...resources) => {
      for (const r of resources) {
        const informer = informers.forResource(r);
        for (let i = 0; ; i++) {
          const { items } = await h.api.list(r, undefined);
          const want = new Map(items.map((o) => [key(o), o.metadata.resourceVersion]));
          const have = informer.list();
          if (
            have.length === want.size &&
            have.every((o) => want.get(key(o)) === o.metadata.resourceVersion)
          ) {
            break;
          }
          // A bound on waiting, so a broken watch fails the test instead of hanging it.
          if (i > 3000) throw new Error(`cache of ${r.plural} never caught up with etcd`);
          await new Promise((res) => setTimeout(res, 10));
        }
      }
    },
    track: (controller) => {
      tracked.push(controller);
      return controller;
    },
    stop: async () => {
      try {
        for (let c = tracked.pop(); c; c = tracked.pop()) await c.stop();
      } finally {
        await informers.stop();
      }
    },
  };
  liveFixtures.get(h)?.push(fixture);
  return fixture;
}

function key(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

export async function createNamespace(api: Registry, name: string): Promise<void> {
  await api.create(NAMESPACES, undefined, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
  });
}

/** Writes pod status as a node agent would: phase, Ready condition, IP. */
export async function setPodStatus(
  api: Registry,
  pod: KubeObject,
  s: { phase?: string; ready?: boolean; podIP?: string; restartCount?: number },
): Promise<KubeObject> {
  const current = await api.get(PODS, pod.metadata.namespace, pod.metadata.name ?? '');
  const old = isRecord(current.status) ? current.status : {};
  const status: Record<string, unknown> = { ...old };
  if (s.phase) status.phase = s.phase;
  if (s.podIP) {
    status.podIP = s.podIP;
    status.podIPs = [{ ip: s.podIP }];
  }
  if (s.ready !== undefined) {
    status.conditions = [
      {
        type: 'Ready',
        status: s.ready ? 'True' : 'False',
        lastProbeTime: null,
        lastTransitionTime: '2024-01-01T00:00:00Z',
      },
    ];
  }
  if (s.restartCount !== undefined) {
    status.containerStatuses = [
      { name: 'main', restartCount: s.restartCount, ready: false, image: 'x', imageID: '' },
    ];
  }
  return api.update(
    PODS,
    current.metadata.namespace,
    current.metadata.name ?? '',
    { ...current, status },
    {
      subresource: 'status',
    },
  );
}

/** The pods of a namespace, by name. */
export async function podsIn(api: Registry, namespace: string): Promise<KubeObject[]> {
  const { items } = await api.list(PODS, namespace);
  return items.sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}
