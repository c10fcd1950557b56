// The scheduler against a real etcd, through the same Registry, informers
// and event recorder the controller manager gives it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { isRecord } from '../api/objects.js';
import { findResource } from '../api/resources.js';
import { Registry } from '../api/registry/registry.js';
import { EtcdStore } from '../store/etcd-store.js';
import { InformerFactory } from '../controllers/runtime/factory.js';
import { EventRecorder } from '../controllers/runtime/events.js';
import { startEtcd, type TestEtcd } from '../../test/support/etcd.js';
import { Scheduler } from './scheduler.js';
import type { AttemptResult } from './metrics.js';
import { makeNode, makePod } from './scheduler.fixture.js';

const PODS = findResource('', 'v1', 'pods')!;
const NODES = findResource('', 'v1', 'nodes')!;
const EVENTS = findResource('', 'v1', 'events')!;
const POLL = { timeout: 30_000, interval: 100 };

function nodeName(pod: KubeObject): string {
  return isRecord(pod.spec) && typeof pod.spec.nodeName === 'string' ? pod.spec.nodeName : '';
}

function podScheduled(pod: KubeObject): Record<string, unknown> | undefined {
  const status = isRecord(pod.status) ? pod.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
  return conditions.find((c) => c.type === 'PodScheduled');
}

/** Only what the API keeps from the fixtures: no uid or timestamps of our own. */
function forCreate(obj: KubeObject): KubeObject {
  const { uid: _u, creationTimestamp: _c, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

describe('Scheduler with a real etcd', () => {
  let etcd: TestEtcd;
  let store: EtcdStore;
  let registry: Registry;
  let informers: InformerFactory;
  let scheduler: Scheduler;
  const attempts: AttemptResult[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    store = new EtcdStore({ endpoints: etcd.endpoints });
    registry = new Registry(store);
    await registry.ensureSystemNamespaces();
    informers = new InformerFactory(registry);
    const events = new EventRecorder(registry, 'default-scheduler');
    scheduler = new Scheduler(
      { registry, informers, events },
      { metrics: { attempt: (r) => attempts.push(r) }, initialBackoffMs: 200, maxBackoffMs: 1000 },
    );
    await informers.start();
    await scheduler.start();
  });

  afterAll(async () => {
    await scheduler?.stop();
    await informers?.stop();
    await store?.close();
    await etcd?.stop();
  });

  it('binds 6 pods of one owner 2/2/2 over 3 nodes', async () => {
    for (const n of ['node-a', 'node-b', 'node-c']) {
      await registry.create(NODES, undefined, forCreate(makeNode(n, { cpu: '2', memory: '4Gi' })));
    }
    for (let i = 0; i < 6; i++) {
      await registry.create(
        PODS,
        'default',
        forCreate(makePod(`web-${i}`, { owner: 'web', cpu: '100m', memory: '64Mi' })),
      );
    }
    await expect
      .poll(
        async () =>
          (await registry.list(PODS, 'default')).items.filter((p) => nodeName(p) !== '').length,
        POLL,
      )
      .toBe(6);
    const { items } = await registry.list(PODS, 'default');
    const counts: Record<string, number> = {};
    for (const p of items) counts[nodeName(p)] = (counts[nodeName(p)] ?? 0) + 1;
    expect(counts).toEqual({ 'node-a': 2, 'node-b': 2, 'node-c': 2 });
    for (const p of items) expect(podScheduled(p)).toMatchObject({ status: 'True' });

    await expect
      .poll(async () => {
        const events = (await registry.list(EVENTS, 'default')).items;
        return events.filter((e) => e.reason === 'Scheduled').map((e) => e.message);
      }, POLL)
      .toContain(
        `Successfully assigned default/web-0 to ${nodeName(items.find((p) => p.metadata.name === 'web-0')!)}`,
      );
    expect(attempts.filter((a) => a === 'scheduled')).toHaveLength(6);
  });

  it('keeps a pod too big for every node Pending, says why, and places it when a big node joins', async () => {
    await registry.create(PODS, 'default', forCreate(makePod('huge', { memory: '16Gi' })));
    const message = '0/3 nodes are available: 3 Insufficient memory.';
    await expect
      .poll(async () => podScheduled(await registry.get(PODS, 'default', 'huge')), POLL)
      .toMatchObject({ status: 'False', reason: 'Unschedulable', message });
    await expect
      .poll(async () => {
        const events = (await registry.list(EVENTS, 'default')).items;
        return events
          .filter((e) => isRecord(e.involvedObject) && e.involvedObject.name === 'huge')
          .map((e) => ({ type: e.type, reason: e.reason, message: e.message }));
      }, POLL)
      .toContainEqual({ type: 'Warning', reason: 'FailedScheduling', message });
    expect(nodeName(await registry.get(PODS, 'default', 'huge'))).toBe('');

    await registry.create(
      NODES,
      undefined,
      forCreate(makeNode('node-big', { cpu: '8', memory: '64Gi' })),
    );
    await expect
      .poll(async () => nodeName(await registry.get(PODS, 'default', 'huge')), POLL)
      .toBe('node-big');
    expect(podScheduled(await registry.get(PODS, 'default', 'huge'))).toMatchObject({
      status: 'True',
    });
    expect(scheduler.pending).toBe(0);
  });

  it('leaves pods for other schedulers alone', async () => {
    await registry.create(
      PODS,
      'default',
      forCreate(makePod('elsewhere', { spec: { schedulerName: 'someone-else' } })),
    );
    await registry.create(PODS, 'default', forCreate(makePod('after')));
    await expect
      .poll(async () => nodeName(await registry.get(PODS, 'default', 'after')), POLL)
      .not.toBe('');
    // Decisions are made in order and both pods arrived before the second was bound.
    expect(nodeName(await registry.get(PODS, 'default', 'elsewhere'))).toBe('');
  });

  it('races a second scheduler without a double binding or an error', async () => {
    const informers2 = new InformerFactory(registry);
    const second: AttemptResult[] = [];
    const rival = new Scheduler(
      { registry, informers: informers2, events: new EventRecorder(registry, 'rival') },
      { metrics: { attempt: (r) => second.push(r) } },
    );
    await informers2.start();
    await rival.start();
    try {
      const before = attempts.length;
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          registry.create(PODS, 'default', forCreate(makePod(`race-${i}`, { cpu: '10m' }))),
        ),
      );
      await expect
        .poll(async () => {
          const { items } = await registry.list(PODS, 'default');
          return items.filter((p) => p.metadata.name?.startsWith('race-') && nodeName(p) !== '')
            .length;
        }, POLL)
        .toBe(20);
      // Each pod was bound once: the winners' successes add up to 20, and no one saw an error.
      await expect
        .poll(
          () =>
            attempts.slice(before).filter((a) => a === 'scheduled').length +
            second.filter((a) => a === 'scheduled').length,
          POLL,
        )
        .toBe(20);
      expect([...attempts.slice(before), ...second]).not.toContain('error');
    } finally {
      await rival.stop();
      await informers2.stop();
    }
  });
});
