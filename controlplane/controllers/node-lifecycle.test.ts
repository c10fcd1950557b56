// Node lifecycle against a real etcd and Registry, with a clock the test
// moves: build nodes and pods, run one reconcile, read back what it wrote.
// One test runs the controller on its own (ticker and workers, real clock).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type TestEtcd } from '../../test/support/etcd.js';
import { EtcdStore } from '../store/etcd-store.js';
import { Registry } from '../api/registry/registry.js';
import { findResource } from '../api/resources.js';
import { ApiError } from '../api/status.js';
import { isRecord, type KubeObject } from '../api/objects.js';
import { InformerFactory } from './runtime/factory.js';
import { EventRecorder } from './runtime/events.js';
import {
  NodeLifecycleController,
  TAINT_UNREACHABLE,
  evictionTime,
  tolerates,
  type Taint,
  type Toleration,
} from './node-lifecycle.js';
import { TokenBucket } from './runtime/token-bucket.js';

const NODES = findResource('', 'v1', 'nodes')!;
const PODS = findResource('', 'v1', 'pods')!;
const EVENTS = findResource('', 'v1', 'events')!;
const LEASES = findResource('coordination.k8s.io', 'v1', 'leases')!;

const T0 = Date.parse('2030-01-01T00:00:00Z');
const GRACE = 20_000;
const EVICTION = 30_000;

let etcd: TestEtcd;
let store: EtcdStore;
const clock = { now: T0 };
let registry: Registry;
let informers: InformerFactory;
let controller: NodeLifecycleController;
let seq = 0;

beforeAll(async () => {
  etcd = await startEtcd();
  store = new EtcdStore({ endpoints: etcd.endpoints });
  registry = new Registry(store, () => new Date(clock.now));
  await registry.ensureSystemNamespaces();
});

afterAll(async () => {
  await store?.close();
  await etcd?.stop();
});

afterEach(async () => {
  await controller?.stop();
  await informers?.stop();
});

/** A fresh controller over fresh caches; every test uses its own node names. */
async function setup(opts: { now?: () => number; period?: number } = {}): Promise<void> {
  informers = new InformerFactory(registry);
  controller = new NodeLifecycleController(
    { registry, informers, events: new EventRecorder(registry, 'controller-manager') },
    {
      monitorGracePeriodMs: GRACE,
      podEvictionTimeoutMs: EVICTION,
      now: opts.now ?? (() => clock.now),
      ...(opts.period ? { monitorPeriodMs: opts.period } : {}),
    },
  );
  await informers.start();
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function readyCondition(status: string, heartbeat: number): Record<string, unknown> {
  return {
    type: 'Ready',
    status,
    reason: status === 'True' ? 'KubeletReady' : 'KubeletNotReady',
    message: 'test',
    lastHeartbeatTime: iso(heartbeat),
    lastTransitionTime: iso(T0),
  };
}

async function makeNode(name: string, heartbeat: number, status = 'True'): Promise<void> {
  await registry.create(NODES, undefined, {
    metadata: { name },
    spec: {},
    status: { conditions: [readyCondition(status, heartbeat)] },
  });
}

/** What the agent gateway writes on a heartbeat. */
async function heartbeat(name: string, at: number, status = 'True'): Promise<void> {
  const node = await registry.get(NODES, undefined, name);
  await registry.update(
    NODES,
    undefined,
    name,
    { ...node, status: { conditions: [readyCondition(status, at)] } },
    { subresource: 'status' },
  );
}

async function makePod(
  name: string,
  node: string,
  extra: { tolerations?: Toleration[]; statefulSet?: boolean } = {},
): Promise<void> {
  const pod = await registry.create(PODS, 'default', {
    metadata: {
      name,
      ...(extra.statefulSet
        ? {
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'StatefulSet',
                name: 'db',
                uid: 'u-db',
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      nodeName: node,
      containers: [{ name: 'c', image: 'busybox' }],
      ...(extra.tolerations ? { tolerations: extra.tolerations } : {}),
    },
  });
  await registry.update(
    PODS,
    'default',
    name,
    {
      ...pod,
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: iso(T0) }],
      },
    },
    { subresource: 'status' },
  );
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the caches hold what etcd holds for these objects, so a reconcile sees it. */
async function synced(nodes: string[], pods: string[] = []): Promise<void> {
  for (const n of nodes) {
    const rv = (await registry.get(NODES, undefined, n)).metadata.resourceVersion;
    await until(`node ${n} in cache`, () =>
      informers.for('', 'v1', 'nodes').get(n)?.metadata.resourceVersion === rv ? true : undefined,
    );
  }
  for (const p of pods) {
    const rv = await getPod(p).then((o) => o?.metadata.resourceVersion);
    await until(`pod ${p} in cache`, () =>
      informers.for('', 'v1', 'pods').get(`default/${p}`)?.metadata.resourceVersion === rv
        ? true
        : undefined,
    );
  }
}

async function getPod(name: string): Promise<KubeObject | undefined> {
  try {
    return await registry.get(PODS, 'default', name);
  } catch (err) {
    if (err instanceof ApiError && err.reason === 'NotFound') return undefined;
    throw err;
  }
}

function conditions(obj: KubeObject): Record<string, unknown>[] {
  const s = isRecord(obj.status) ? obj.status : {};
  return Array.isArray(s.conditions) ? s.conditions.filter(isRecord) : [];
}

function taints(node: KubeObject): Taint[] {
  const spec = isRecord(node.spec) ? node.spec : {};
  return Array.isArray(spec.taints) ? (spec.taints as Taint[]) : [];
}

async function eventsFor(name: string): Promise<string[]> {
  const { items } = await registry.list(EVENTS, 'default');
  return items
    .filter((e) => isRecord(e.involvedObject) && e.involvedObject.name === name)
    .map((e) => `${String(e.reason)}: ${String(e.message)}`);
}

function names(prefix: string): { dead: string; healthy: string } {
  seq++;
  return { dead: `${prefix}-dead-${seq}`, healthy: `${prefix}-ok-${seq}` };
}

describe('NodeLifecycleController.reconcile', () => {
  it('reads the node lease: a renewed lease keeps a node whose status is old Ready', async () => {
    clock.now = T0;
    const { dead, healthy } = names('lease');
    await makeNode(healthy, T0);
    await makeNode(dead, T0);
    const lease = (name: string, at: number): Promise<KubeObject> =>
      registry.create(LEASES, 'kube-node-lease', {
        metadata: { name },
        spec: {
          holderIdentity: name,
          leaseDurationSeconds: 40,
          renewTime: new Date(at).toISOString().replace('Z', '000Z'),
        },
      });
    await lease(healthy, T0);
    await lease(dead, T0);
    await setup();
    await synced([healthy, dead]);
    // Only the healthy node's lease moves; neither Node status does.
    clock.now = T0 + GRACE - 5000;
    await controller.reconcile(healthy);
    await controller.reconcile(dead);
    const current = await registry.get(LEASES, 'kube-node-lease', healthy);
    await registry.update(LEASES, 'kube-node-lease', healthy, {
      ...current,
      spec: { ...(current.spec as object), renewTime: '2030-01-01T00:00:15.000000Z' },
    });
    await until('renewed lease in cache', () =>
      (
        informers.for('coordination.k8s.io', 'v1', 'leases').get(`kube-node-lease/${healthy}`)
          ?.spec as { renewTime?: string } | undefined
      )?.renewTime === '2030-01-01T00:00:15.000000Z'
        ? true
        : undefined,
    );
    clock.now = T0 + GRACE + 5000;
    await controller.reconcile(healthy);
    await controller.reconcile(dead);
    const ready = async (n: string): Promise<unknown> =>
      conditions(await registry.get(NODES, undefined, n)).find((c) => c.type === 'Ready')?.status;
    expect(await ready(healthy)).toBe('True');
    expect(await ready(dead)).toBe('Unknown');
  });

  it('leaves a node with a fresh heartbeat alone', async () => {
    clock.now = T0;
    const { healthy } = names('fresh');
    await makeNode(healthy, T0);
    await setup();
    await synced([healthy]);
    const before = await registry.get(NODES, undefined, healthy);
    clock.now = T0 + GRACE - 1000;
    await controller.reconcile(healthy);
    const after = await registry.get(NODES, undefined, healthy);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('marks a silent node Unknown, taints it, marks its pods not ready, and says so', async () => {
    clock.now = T0;
    const { dead, healthy } = names('silent');
    await makeNode(dead, T0);
    await makeNode(healthy, T0 + 25_000);
    await makePod(`${dead}-p`, dead);
    await setup();
    await synced([dead, healthy], [`${dead}-p`]);
    await controller.reconcile(dead); // first sighting: Ready
    clock.now = T0 + 25_000;
    await controller.reconcile(dead);

    const node = await registry.get(NODES, undefined, dead);
    const ready = conditions(node).find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
      lastHeartbeatTime: iso(T0),
      lastTransitionTime: iso(T0 + 25_000),
    });
    expect(taints(node)).toEqual([
      { key: TAINT_UNREACHABLE, effect: 'NoSchedule' },
      { key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: iso(T0 + 25_000) },
    ]);
    const pod = (await getPod(`${dead}-p`))!;
    expect(conditions(pod).find((c) => c.type === 'Ready')).toMatchObject({ status: 'False' });
    await until('the NodeNotReady event', async () =>
      (await eventsFor(dead)).includes(`NodeNotReady: Node ${dead} status is now: NodeNotReady`)
        ? true
        : undefined,
    );
    // Before its eviction timeout the pod stays.
    expect(pod.metadata.deletionTimestamp).toBeUndefined();
  });

  it('taints silent nodes for eviction at --node-eviction-rate: the first at once, the next 10 s on', async () => {
    clock.now = T0;
    const { dead } = names('rate-a');
    const other = names('rate-b').dead;
    await makeNode(dead, T0);
    await makeNode(other, T0);
    await setup();
    await synced([dead, other], []);
    await controller.reconcile(dead);
    await controller.reconcile(other);
    clock.now = T0 + 25_000;
    await controller.reconcile(dead);
    await controller.reconcile(other);
    const effects = async (n: string): Promise<string[]> =>
      taints(await registry.get(NODES, undefined, n)).map((t) => t.effect);
    expect(await effects(dead)).toEqual(['NoSchedule', 'NoExecute']);
    // Kept from scheduling at once, but its pods' eviction clock waits for a token.
    expect(await effects(other)).toEqual(['NoSchedule']);
    clock.now = T0 + 35_000;
    await synced([other], []);
    await controller.reconcile(other);
    expect(await effects(other)).toEqual(['NoSchedule', 'NoExecute']);
  });

  it('evicts pods by their tolerations, force-deleting all but StatefulSet pods', async () => {
    clock.now = T0;
    const { dead, healthy } = names('evict');
    const tainted = T0 + 25_000;
    await makeNode(dead, T0);
    await makeNode(healthy, T0 + 200_000);
    const unreachable = { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' };
    await makePod(`${dead}-plain`, dead);
    await makePod(`${dead}-60s`, dead, {
      tolerations: [{ ...unreachable, tolerationSeconds: 60 }],
    });
    await makePod(`${dead}-forever`, dead, { tolerations: [unreachable] });
    await makePod(`${dead}-sts`, dead, { statefulSet: true });
    const pods = ['plain', '60s', 'forever', 'sts'].map((p) => `${dead}-${p}`);
    await setup();
    await synced([dead, healthy], pods);
    clock.now = tainted;
    await controller.reconcile(dead);
    await synced([dead], pods);

    clock.now = tainted + EVICTION - 1000;
    await controller.reconcile(dead);
    for (const p of pods) expect((await getPod(p))?.metadata.deletionTimestamp).toBeUndefined();

    clock.now = tainted + EVICTION + 1000;
    await controller.reconcile(dead);
    expect(await getPod(`${dead}-plain`)).toBeUndefined();
    const sts = await getPod(`${dead}-sts`);
    expect(sts?.metadata.deletionTimestamp).toBeDefined(); // graceful only: waits for its node
    expect((await getPod(`${dead}-60s`))?.metadata.deletionTimestamp).toBeUndefined();
    await until('the eviction event', async () =>
      (await eventsFor(`${dead}-plain`)).some((e) => e.startsWith('TaintManagerEviction:'))
        ? true
        : undefined,
    );

    await synced([dead], [`${dead}-60s`, `${dead}-forever`, `${dead}-sts`]);
    clock.now = tainted + 61_000;
    await controller.reconcile(dead);
    expect(await getPod(`${dead}-60s`)).toBeUndefined();
    expect((await getPod(`${dead}-forever`))?.metadata.deletionTimestamp).toBeUndefined();
    expect(await getPod(`${dead}-sts`)).toBeDefined();
  });

  it('removes the taints and records NodeReady when heartbeats return', async () => {
    clock.now = T0;
    const { dead, healthy } = names('back');
    await makeNode(dead, T0);
    await makeNode(healthy, T0 + 100_000);
    await setup();
    await synced([dead, healthy]);
    await controller.reconcile(dead);
    clock.now = T0 + 25_000;
    await controller.reconcile(dead);
    expect(taints(await registry.get(NODES, undefined, dead))).toHaveLength(2);

    clock.now = T0 + 40_000;
    await heartbeat(dead, clock.now);
    await synced([dead]);
    await controller.reconcile(dead);
    const node = await registry.get(NODES, undefined, dead);
    expect(taints(node)).toEqual([]);
    expect(conditions(node).find((c) => c.type === 'Ready')?.status).toBe('True');
    await until('the NodeReady event', async () =>
      (await eventsFor(dead)).includes(`NodeReady: Node ${dead} status is now: NodeReady`)
        ? true
        : undefined,
    );
  });

  it('gives a node that reports Ready=False the not-ready taints, evicting gracefully', async () => {
    clock.now = T0;
    const { dead, healthy } = names('notready');
    await makeNode(dead, T0, 'False');
    await makeNode(healthy, T0 + 100_000);
    await makePod(`${dead}-p`, dead);
    await setup();
    await synced([dead, healthy], [`${dead}-p`]);
    await controller.reconcile(dead);
    const node = await registry.get(NODES, undefined, dead);
    expect(taints(node).map((t) => `${t.key}:${t.effect}`)).toEqual([
      'node.kubernetes.io/not-ready:NoSchedule',
      'node.kubernetes.io/not-ready:NoExecute',
    ]);
    await synced([dead], [`${dead}-p`]);
    clock.now = T0 + EVICTION + 1000;
    await heartbeat(dead, clock.now, 'False');
    await synced([dead]);
    await controller.reconcile(dead);
    // The agent is connected and confirms the termination itself.
    const pod = await getPod(`${dead}-p`);
    expect(pod?.metadata.deletionTimestamp).toBeDefined();
    expect(conditions(pod!).find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('evicts nothing when no node at all is Ready', async () => {
    clock.now = T0;
    const { dead } = names('alone');
    // Every other test's nodes would count as Ready: this one runs with only its own.
    await setup();
    const others = informers.for('', 'v1', 'nodes').list();
    for (const n of others) await registry.delete(NODES, undefined, n.metadata.name!);
    await makeNode(dead, T0);
    await makePod(`${dead}-p`, dead);
    await synced([dead], [`${dead}-p`]);
    await until('only one node cached', () =>
      informers.for('', 'v1', 'nodes').list().length === 1 ? true : undefined,
    );
    await controller.reconcile(dead);
    clock.now = T0 + 25_000;
    await controller.reconcile(dead);
    await synced([dead], [`${dead}-p`]);
    clock.now = T0 + 25_000 + EVICTION + 1000;
    await controller.reconcile(dead);
    const pod = await getPod(`${dead}-p`);
    expect(pod?.metadata.deletionTimestamp).toBeUndefined();
  });

  it('deletes pods bound to a node that no longer exists', async () => {
    clock.now = T0;
    const { dead } = names('orphan');
    await makePod(`${dead}-p`, dead);
    await setup();
    await synced([], [`${dead}-p`]);
    await controller.reconcile(dead);
    expect(await getPod(`${dead}-p`)).toBeUndefined();
  });
});

describe('NodeLifecycleController running', () => {
  it('notices a silent node on its own and moves its pods away', async () => {
    const { dead, healthy } = names('live');
    const now = Date.now();
    clock.now = now;
    await makeNode(dead, now - 60_000);
    await makeNode(healthy, now + 600_000);
    await makePod(`${dead}-p`, dead);
    await setup({ now: () => Date.now(), period: 200 });
    await controller.start();
    // 60 s silent: Unknown at once, tainted 'now'; evicted EVICTION later — too long to wait,
    // so this checks the taint and the pod's readiness, which the ticker alone must bring.
    await until('the unreachable taint', async () =>
      taints(await registry.get(NODES, undefined, dead)).some((t) => t.key === TAINT_UNREACHABLE)
        ? true
        : undefined,
    );
    await until('the pod marked not ready', async () => {
      const pod = await getPod(`${dead}-p`);
      return pod && conditions(pod).find((c) => c.type === 'Ready')?.status === 'False'
        ? true
        : undefined;
    });
    await controller.stop();
  });
});

describe('evictionTime', () => {
  const taint = (key: string, effect = 'NoExecute', value?: string): Taint => ({
    key,
    effect,
    ...(value ? { value } : {}),
  });
  const since = 1_000_000;
  const cases: { name: string; tolerations: Toleration[]; taints: Taint[]; due: number }[] = [
    {
      name: 'untolerated unreachable: after the timeout',
      tolerations: [],
      taints: [taint(TAINT_UNREACHABLE)],
      due: since + EVICTION,
    },
    {
      name: 'untolerated other taint: at once',
      tolerations: [],
      taints: [taint('dedicated')],
      due: since,
    },
    {
      name: 'tolerated with seconds',
      tolerations: [
        { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 },
      ],
      taints: [taint(TAINT_UNREACHABLE)],
      due: since + 5000,
    },
    {
      name: 'tolerated forever',
      tolerations: [{ key: TAINT_UNREACHABLE, operator: 'Exists' }],
      taints: [taint(TAINT_UNREACHABLE)],
      due: Infinity,
    },
    {
      name: 'the least seconds of matching tolerations',
      tolerations: [
        { operator: 'Exists', tolerationSeconds: 100, effect: 'NoExecute' },
        { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 7 },
      ],
      taints: [taint(TAINT_UNREACHABLE)],
      due: since + 7000,
    },
    {
      name: 'the earliest over several taints',
      tolerations: [{ key: TAINT_UNREACHABLE, operator: 'Exists' }],
      taints: [taint(TAINT_UNREACHABLE), taint('gpu', 'NoExecute', 'broken')],
      due: since,
    },
    {
      name: 'a NoSchedule toleration does not count',
      tolerations: [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoSchedule' }],
      taints: [taint(TAINT_UNREACHABLE)],
      due: since + EVICTION,
    },
  ];
  it.each(cases)('$name', ({ tolerations, taints: ts, due }) => {
    expect(
      evictionTime(
        tolerations,
        ts.map((t) => ({ taint: t, since })),
        EVICTION,
      ),
    ).toBe(due);
  });
});

describe('tolerates', () => {
  const t: Taint = { key: 'k', value: 'v', effect: 'NoExecute' };
  it.each([
    [{ key: 'k', value: 'v' }, true],
    [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoExecute' }, true],
    [{ key: 'k', value: 'x' }, false],
    [{ key: 'k', operator: 'Exists' }, true],
    [{ operator: 'Exists' }, true],
    [{ operator: 'Exists', effect: 'NoSchedule' }, false],
    [{ key: 'other', operator: 'Exists' }, false],
  ] as [Toleration, boolean][])('%o → %s', (tol, want) => {
    expect(tolerates(tol, t)).toBe(want);
  });
});

describe('TokenBucket', () => {
  it('gives the burst at once, then one token per 1/rate seconds, and never refills backwards', () => {
    const b = new TokenBucket(0.1, 1);
    expect(b.take(1_000)).toBe(0);
    expect(b.take(1_000)).toBe(10_000);
    expect(b.take(6_000)).toBe(5_000);
    expect(b.take(11_000)).toBe(0);
    expect(b.take(5_000)).toBe(10_000);
  });
});
