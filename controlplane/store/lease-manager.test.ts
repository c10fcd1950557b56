// Expiring keys: the lease reuse rule as a table, then Events really
// expiring from a real etcd with a short TTL, and a burst of one event
// aggregating into a count instead of failing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type TestEtcd } from '../../test/support/etcd.js';
import { waitFor } from '../../test/support/wait.js';
import { Registry } from '../api/registry/registry.js';
import { findResource } from '../api/resources.js';
import { EventRecorder } from '../controllers/runtime/events.js';
import { EtcdStore } from './etcd-store.js';
import { LeaseManager, leaseReuseSeconds } from './lease-manager.js';

const EVENTS = findResource('', 'v1', 'events')!;

describe('LeaseManager', () => {
  it.each([
    [1, 1],
    [2, 1],
    [100, 5],
    [3600, 60],
    [86_400, 60],
  ])('TTL %d s reuses a lease for %d s', (ttl, reuse) => {
    expect(leaseReuseSeconds(ttl)).toBe(reuse);
  });

  it('grants TTL + reuse window, shares it while it has TTL left, then grants anew', async () => {
    let now = 0;
    const grants: number[] = [];
    const m = new LeaseManager(
      100,
      async (ttl) => {
        grants.push(ttl);
        return String(grants.length);
      },
      () => now,
    );
    const [a, b] = await Promise.all([m.lease(), m.lease()]);
    expect([a, b]).toEqual(['1', '1']);
    now = 5_000; // granted for 105 s: 100 s left, still good
    expect(await m.lease()).toBe('1');
    now = 5_001;
    expect(await m.lease()).toBe('2');
    expect(grants).toEqual([105, 105]);
  });

  it('refuses a TTL below one second', () => {
    expect(() => new LeaseManager(0, async () => '1')).toThrow(/TTL/);
  });
});

describe('expiring Events in etcd', () => {
  let etcd: TestEtcd;
  let store: EtcdStore;
  let registry: Registry;

  beforeAll(async () => {
    etcd = await startEtcd();
    store = new EtcdStore({
      endpoints: etcd.endpoints,
      expiring: [{ prefix: '/registry/events/', ttlSeconds: 2 }],
    });
    registry = new Registry(store);
    await registry.ensureSystemNamespaces();
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await etcd?.stop();
  });

  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-1' },
  };

  it('an event is gone a little after its TTL; other kinds stay', async () => {
    const recorder = new EventRecorder(registry, 'test');
    await recorder.record(pod, 'Normal', 'Started', 'Started container web');
    await registry.create(
      findResource('', 'v1', 'configmaps')!,
      'default',
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'stays' }, data: {} },
      { fieldManager: 'test' },
    );
    expect((await registry.list(EVENTS, 'default')).items).toHaveLength(1);
    // TTL 2 s + 1 s reuse window: gone within a few seconds (etcd checks leases every 500 ms).
    await waitFor(
      'the event to expire',
      async () => (await registry.list(EVENTS, 'default')).items.length,
      (n) => n === 0,
      { timeoutMs: 20_000 },
    );
    const cm = await registry.get(findResource('', 'v1', 'configmaps')!, 'default', 'stays');
    expect(cm.metadata.name).toBe('stays');
  }, 30_000);

  it('a burst of one event aggregates into its count', async () => {
    const recorder = new EventRecorder(registry, 'kubelet');
    await Promise.all(
      Array.from({ length: 8 }, () =>
        recorder.record(pod, 'Warning', 'BackOff', 'Back-off restarting failed container', {
          fieldPath: 'spec.containers{web}',
          host: 'node-1',
        }),
      ),
    );
    const items = (await registry.list(EVENTS, 'default')).items.filter(
      (e) => e.reason === 'BackOff',
    );
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      count: 8,
      type: 'Warning',
      source: { component: 'kubelet', host: 'node-1' },
      reportingComponent: 'kubelet',
      reportingInstance: 'node-1',
      involvedObject: { kind: 'Pod', name: 'web', uid: 'uid-1', fieldPath: 'spec.containers{web}' },
    });
  }, 30_000);
});
