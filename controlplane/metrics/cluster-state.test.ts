// shoal_nodes and shoal_pods' counts against a real etcd: they follow
// creates, status changes and deletes through the watch, without a list per scrape.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../api/registry/registry.js';
import { useHarness } from '../controllers/workload-test-fixture.js';
import { findResource } from '../api/resources.js';
import { ClusterState, SUMMARY_SEPARATOR, nodeReadyStatus, podPhase } from './cluster-state.js';

const NODES = findResource('', 'v1', 'nodes')!;
const PODS = findResource('', 'v1', 'pods')!;

let state: ClusterState | undefined;
const h = useHarness({
  // Its watch goes before the store closes.
  beforeStop: async () => {
    await state?.stop();
  },
});
let registry: Registry;

beforeAll(() => {
  registry = h.api;
});

const counts = (m: ReadonlyMap<string, number> | undefined): Record<string, number> =>
  Object.fromEntries(
    [...(m ?? new Map<string, number>())].map(([k, v]) => [k.replace(SUMMARY_SEPARATOR, '/'), v]),
  );

describe('summaries', () => {
  it.each([
    [{ conditions: [{ type: 'Ready', status: 'True' }] }, 'True'],
    [{ conditions: [{ type: 'Ready', status: 'False' }] }, 'False'],
    [{ conditions: [{ type: 'MemoryPressure', status: 'False' }] }, 'Unknown'],
    [undefined, 'Unknown'],
  ])('node status %j → Ready=%s', (status, want) => {
    expect(nodeReadyStatus({ metadata: {}, status })).toBe(want);
  });

  it.each([
    [{ phase: 'Running' }, 'Running'],
    [{}, 'Pending'],
    [{ phase: 'Bogus' }, 'Unknown'],
  ])('pod status %j → %s', (status, want) => {
    expect(podPhase({ metadata: {}, status })).toBe(want);
  });
});

describe('ClusterState', () => {
  it('counts nodes by Ready status and pods by namespace and phase as they change', async () => {
    await registry.create(PODS, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'before-start' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    state = new ClusterState(registry);
    state.start();
    await expect.poll(() => counts(state!.pods.snapshot())).toEqual({ 'default/Pending': 1 });

    const node = await registry.create(NODES, undefined, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
    });
    await expect.poll(() => counts(state!.nodes.snapshot())).toEqual({ Unknown: 1 });
    await registry.update(
      NODES,
      undefined,
      'n1',
      { ...node, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      { subresource: 'status' },
    );
    await expect.poll(() => counts(state!.nodes.snapshot())).toEqual({ True: 1 });

    const pod = await registry.get(PODS, 'default', 'before-start');
    await registry.update(
      PODS,
      'default',
      'before-start',
      { ...pod, status: { phase: 'Running' } },
      { subresource: 'status' },
    );
    await expect.poll(() => counts(state!.pods.snapshot())).toEqual({ 'default/Running': 1 });

    await registry.delete(PODS, 'default', 'before-start', { gracePeriodSeconds: 0 });
    await registry.delete(NODES, undefined, 'n1');
    await expect.poll(() => counts(state!.pods.snapshot())).toEqual({});
    await expect.poll(() => counts(state!.nodes.snapshot())).toEqual({});
  });
});
